"""Output shapes of the menu endpoints (documents -> JSON; money as "12.50" strings)."""

from __future__ import annotations

from typing import Any

from bson import Decimal128
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api import StrictSerializer
from integrations.serializers import StrictBooleanField
from menus.runs import RUN_STATUSES, TRIGGERS
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
    image_thumbnail = serializers.CharField(
        allow_null=True, default=None, help_text="The uploaded image, at most 320 px."
    )
    register_missing = serializers.BooleanField(
        default=False,
        help_text="Brought back by a menu restore although the register no longer has it.",
    )
    available = serializers.BooleanField(
        default=True, help_text="false at stock 0 (the stock refresh sets it)."
    )
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
    preview = serializers.BooleanField()


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


class SyncMenuRequestSerializer(StrictSerializer):
    preview = StrictBooleanField(
        required=False,
        default=False,
        help_text="Read the register and plan only: nothing is written to the menu, a "
        "`preview` run is left to apply or discard.",
    )
    confirm_deletions = StrictBooleanField(
        required=False,
        default=False,
        help_text="Apply even when the import would delete more than the mass-change guard "
        "allows (an admin action).",
    )


class ImportRunSerializer(serializers.Serializer[Any]):
    """One import run (menus/runs.py); the list leaves out `diff`, `warnings` and the
    skipped products' entries (their counts stay)."""

    id = IdField(source="*")
    integration_id = serializers.CharField()
    location_id = serializers.CharField()
    provider = serializers.CharField()
    trigger = serializers.ChoiceField(choices=[*TRIGGERS, "restore"])
    preview = serializers.BooleanField()
    confirm_deletions = serializers.BooleanField()
    status = serializers.ChoiceField(choices=list(RUN_STATUSES))
    stage = serializers.CharField(allow_null=True, default=None)
    message = serializers.CharField(allow_blank=True, default="")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True, default=None)
    applied_at = serializers.DateTimeField(allow_null=True, default=None)
    durations = serializers.DictField(
        child=serializers.FloatField(), default=dict, help_text="Seconds per stage."
    )
    read = serializers.DictField(
        child=serializers.IntegerField(), default=dict, help_text="What the register sent."
    )
    report = serializers.DictField(default=dict, help_text="Counts per entity.")
    guard = serializers.DictField(
        allow_null=True,
        default=None,
        help_text="The mass-change guard: held, existing, deleted, remaining, share, "
        "max_share, reason.",
    )
    skipped = serializers.DictField(
        default=dict,
        help_text="Register products not on the menu: total, reasons (code: count), "
        "entries [{pos_id, name, reason, text, removed}] (at most 500), truncated.",
    )
    diff = serializers.DictField(
        required=False,
        help_text="Per entity, created/updated/deleted: {total, entries [{pos_id, name, "
        "changes: {field: {old, new}}}]} (at most 200 entries each).",
    )
    warnings = serializers.ListField(child=serializers.CharField(), required=False)
    error = serializers.DictField(allow_null=True, default=None)
    version_id = serializers.CharField(
        required=False, help_text="A restore: the version it put back."
    )
    register_missing = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="A restore: the items it brought back that the register no longer has.",
    )


class ImportRunAcceptedSerializer(serializers.Serializer[Any]):
    run_id = serializers.CharField()
    status = serializers.CharField(help_text="in_progress")


class ItemEditSerializer(StrictSerializer):
    """The local fields of an item; POS-owned fields are refused by name."""

    description = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, trim_whitespace=True
    )
    display_order = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=1_000_000
    )

    def to_internal_value(self, data: Any) -> Any:
        from menus.edits import POS_OWNED_ITEM_FIELDS, POS_OWNED_MESSAGE

        if isinstance(data, dict):
            owned = sorted(name for name in data if name in POS_OWNED_ITEM_FIELDS)
            if owned:
                raise serializers.ValidationError({name: [POS_OWNED_MESSAGE] for name in owned})
        return super().to_internal_value(data)


class DisplayGroupOrderSerializer(StrictSerializer):
    item_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=10_000,
        help_text="Every item id of the group, once each, in the new order.",
    )


class MenuVersionSerializer(serializers.Serializer[Any]):
    id = IdField(source="*")
    run_id = serializers.CharField(help_text="The run that replaced this menu.")
    created_at = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Records kept.")


class StockRefreshSerializer(serializers.Serializer[Any]):
    products = serializers.IntegerField(help_text="Products the register listed.")
    items = serializers.IntegerField(help_text="The provider's items matched by POS id.")
    inventory_updated = serializers.IntegerField()
    inventory_created = serializers.IntegerField()
    availability_changed = serializers.IntegerField()
    unavailable = serializers.IntegerField(help_text="Items at stock 0 (sold out).")
