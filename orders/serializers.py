"""Shapes of the transactions API: request validation and responses. Money is a string
with two decimals ("12.50") both ways."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.api import StrictSerializer
from orders.services import CHANNELS, SERVICE_TYPES, ServiceTypeError, service_type_for
from orders.states import PushStatus
from upvendo.pagination import MAX_PAGE, bounded_integer

MAX_LINES = 200
MAX_QUANTITY = 999
MAX_TABLE_NUMBER = 999_999
MONEY = {"max_digits": 12, "decimal_places": 2}


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, coerce_to_string=True, **kwargs)


# -- requests ---------------------------------------------------------------------------------


class ModifierInputSerializer(StrictSerializer):
    modifier_id = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        default=1,
        help_text="Per unit of the line: 2 x Cola with Groot is the line at quantity 2 and "
        "Groot at quantity 1.",
    )


class LineInputSerializer(StrictSerializer):
    item_id = serializers.CharField(max_length=64, help_text="The id of an item of the menu.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    modifiers = serializers.ListField(
        child=ModifierInputSerializer(), required=False, default=list, max_length=50
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class TransactionCreateSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=CHANNELS)
    table_number = serializers.IntegerField(
        min_value=1,
        max_value=MAX_TABLE_NUMBER,
        required=False,
        allow_null=True,
        help_text="Required for table_qr: the table the order is for.",
    )
    service_type = serializers.ChoiceField(
        choices=SERVICE_TYPES,
        required=False,
        help_text="eat_in, takeaway or delivery: the register prints its VAT from it. "
        "table_qr is always eat_in; online defaults to takeaway; a kiosk order must say "
        "eat_in or takeaway.",
    )
    lines = serializers.ListField(child=LineInputSerializer(), min_length=1, max_length=MAX_LINES)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["channel"] == "table_qr" and attrs.get("table_number") is None:
            raise serializers.ValidationError(
                {"table_number": ["A table_qr order needs the table_number it is for."]}
            )
        try:
            attrs["service_type"] = service_type_for(attrs["channel"], attrs.get("service_type"))
        except ServiceTypeError as error:
            raise serializers.ValidationError({"service_type": [str(error)]}) from error
        return attrs


class PaymentConfirmedSerializer(StrictSerializer):
    amount = _money(help_text='The amount paid, as a string: "12.50". Must equal the total.')
    currency = serializers.CharField(
        min_length=3, max_length=3, help_text="ISO 4217 code; must be the order's currency."
    )
    payment_provider = serializers.CharField(max_length=50)
    payment_reference = serializers.CharField(
        max_length=200, help_text="Confirms at most one order with this payment_provider."
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "amount" in data and not isinstance(data["amount"], str):
            raise serializers.ValidationError(
                {"amount": ['Send the amount as a string with two decimals, e.g. "12.50".']}
            )
        return super().to_internal_value(data)


# -- responses --------------------------------------------------------------------------------


class ModifierSerializer(serializers.Serializer[Any]):
    modifier_id = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = _money()


class LineSerializer(serializers.Serializer[Any]):
    item_id = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = _money()
    modifiers = ModifierSerializer(many=True)
    note = serializers.CharField(allow_blank=True)
    total = _money()


class PaymentSerializer(serializers.Serializer[Any]):
    amount = _money()
    provider = serializers.CharField()
    reference = serializers.CharField()
    confirmed_at = serializers.DateTimeField()


class HistoryEntrySerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    to = serializers.CharField()
    detail = serializers.CharField()
    code = serializers.CharField(required=False, allow_null=True)
    message = serializers.CharField(required=False, allow_null=True)


# "from" is a Python keyword: declare the field by name.
HistoryEntrySerializer._declared_fields["from"] = serializers.CharField(allow_null=True)


class PushStateSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=[s.value for s in PushStatus])
    table_number = serializers.IntegerField(allow_null=True)
    bill_id = serializers.CharField(allow_null=True)
    errMessage = serializers.CharField(source="err_message", allow_null=True)
    errCode = serializers.CharField(source="err_code", allow_null=True)
    attempts = serializers.IntegerField()
    history = HistoryEntrySerializer(many=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class TransactionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    location_id = serializers.CharField()
    channel = serializers.CharField()
    table_number = serializers.IntegerField(allow_null=True)
    service_type = serializers.ChoiceField(
        choices=SERVICE_TYPES,
        allow_null=True,
        help_text="eat_in, takeaway or delivery; null on orders created before it existed.",
    )
    status = serializers.ChoiceField(choices=["pending", "paid"], help_text="Payment status.")
    currency = serializers.CharField()
    total = _money()
    lines = LineSerializer(many=True)
    payment = PaymentSerializer(allow_null=True)
    pos_provider = serializers.CharField(
        allow_null=True, help_text="The register the order is pushed to."
    )
    pos_message = serializers.CharField(
        allow_blank=True, help_text="Why the order was not pushed, when it was not."
    )
    need_requeue = serializers.BooleanField()
    external_data = serializers.DictField(child=PushStateSerializer())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TransactionPageSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = TransactionSerializer(many=True)


class TransactionListQuerySerializer(StrictSerializer):
    pos_status = serializers.ChoiceField(
        choices=[s.value for s in PushStatus], required=False, help_text="Filter by push status."
    )
    page = bounded_integer(1, MAX_PAGE, 1, help_text=f"1-{MAX_PAGE}, default 1.")
    page_size = bounded_integer(1, 100, 20, help_text="1-100, default 20.")
