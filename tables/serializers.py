"""Shapes of the table-section API: input validation and output."""

from __future__ import annotations

from collections import Counter

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api import StrictSerializer
from tables.qr import table_url
from tables.repository import Table

MAX_TABLES_PER_SECTION = 1000
MAX_TABLE_NUMBER = 999_999


class TableSerializer(serializers.Serializer):
    """A table of a section; needs `location_id` in the context for its QR URL."""

    number = serializers.IntegerField()
    name = serializers.CharField()
    qr_url = serializers.SerializerMethodField(help_text="What the table's QR code encodes.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_qr_url(self, table: Table) -> str:
        return table_url(self.context["location_id"], table.number)


class TableSectionSerializer(serializers.Serializer):
    id = serializers.CharField()
    location_id = serializers.CharField()
    name = serializers.CharField()
    imported_by = serializers.CharField(
        allow_null=True, help_text="The provider that manages the section; null when hand-made."
    )
    protected = serializers.BooleanField(
        help_text="True for an integration's section, which cannot be deleted by hand."
    )
    tables = TableSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TableSectionCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, help_text='For example "Terrace".')
    tables = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_TABLE_NUMBER),
        min_length=1,
        max_length=MAX_TABLES_PER_SECTION,
        help_text="The table numbers, each once.",
    )

    def validate_tables(self, value: list[int]) -> list[int]:
        repeated = sorted(number for number, count in Counter(value).items() if count > 1)
        if repeated:
            listed = ", ".join(str(number) for number in repeated)
            raise serializers.ValidationError(
                f"Each table number may appear once; repeated: {listed}."
            )
        return value
