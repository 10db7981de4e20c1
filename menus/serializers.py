"""Output shapes of the menu endpoints (documents -> JSON; money as "12.50" strings)."""

from __future__ import annotations

from typing import Any

from bson import Decimal128
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from upvendo.pagination import MAX_OFFSET, bounded_integer

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class PageQuerySerializer(serializers.Serializer[Any]):
    limit = bounded_integer(1, MAX_LIMIT, DEFAULT_LIMIT)
    offset = bounded_integer(0, MAX_OFFSET, 0)


@extend_schema_field({"type": "string", "example": "12.50"})
class MoneyField(serializers.Field[Any, Any, str, Any]):
    """A stored ``Decimal128`` amount as a two-decimal string."""

    def to_representation(self, value: Any) -> str:
        return f"{value.to_decimal() if isinstance(value, Decimal128) else value:.2f}"


@extend_schema_field(OpenApiTypes.STR)
class IdField(serializers.Field[Any, Any, str, Any]):
    def get_attribute(self, instance: dict[str, Any]) -> Any:
        return instance["_id"]

    def to_representation(self, value: Any) -> str:
        return str(value)


class RecordSerializer(serializers.Serializer[Any]):
    id = IdField(source="*")
    location_id = serializers.CharField()
    imported_by = serializers.CharField(allow_null=True, default=None)
    external_ids = serializers.DictField(child=serializers.CharField(), default=dict)


class CategorySerializer(RecordSerializer):
    name = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True, default=None)
    description = serializers.CharField(allow_blank=True, default="")
    image = serializers.CharField(allow_null=True, default=None)
    display_order = serializers.IntegerField(allow_null=True, default=None)


class MenuModifierSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
    kitchen_name = serializers.CharField()
    price = MoneyField()
    external_ids = serializers.DictField(child=serializers.CharField(), default=dict)


class ModifierGroupSerializer(RecordSerializer):
    name = serializers.CharField()
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    modifiers = MenuModifierSerializer(many=True)


class ItemSerializer(RecordSerializer):
    name = serializers.CharField()
    kitchen_name = serializers.CharField()
    price = MoneyField()
    plu = serializers.CharField(allow_blank=True)
    vat_rate = MoneyField(allow_null=True)
    category_id = serializers.CharField(allow_null=True)
    modifier_group_ids = serializers.ListField(child=serializers.CharField())
    modifier_groups = ModifierGroupSerializer(many=True, help_text="The linked groups, expanded.")
    description = serializers.CharField(allow_blank=True, default="")
    image = serializers.CharField(allow_null=True, default=None)
    display_order = serializers.IntegerField(allow_null=True, default=None)


class DisplayGroupSerializer(RecordSerializer):
    name = serializers.CharField()
    sort = serializers.IntegerField()
    item_ids = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True, default="")
    image = serializers.CharField(allow_null=True, default=None)
    display_order = serializers.IntegerField(allow_null=True, default=None)


class MenuSerializer(RecordSerializer):
    name = serializers.CharField()
    display_group_ids = serializers.ListField(child=serializers.CharField())


class InventorySerializer(RecordSerializer):
    item_id = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True, help_text="null: stock is not tracked")
    updated_at = serializers.DateTimeField()


class SyncStartedSerializer(serializers.Serializer[Any]):
    run_id = serializers.CharField()
    status = serializers.CharField(help_text="in_progress")


def page_serializer(item: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """A paginated list of ``item`` (for the OpenAPI schema)."""
    return type(
        f"Paginated{item.__name__.removesuffix('Serializer')}List",
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "limit": serializers.IntegerField(),
            "offset": serializers.IntegerField(),
            "results": item(many=True),
        },
    )
