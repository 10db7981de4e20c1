from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from rest_framework import serializers

from accounts.api import StrictSerializer
from integrations.providers import PROVIDERS
from locations.repository import Location

# Active ISO 4217 currency codes (funds and precious metals left out).
CURRENCIES = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VED",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)
NOT_CONFIGURED = "not_configured"


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


class LocationCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    timezone = serializers.CharField(
        max_length=64, help_text="IANA timezone name, e.g. Europe/Brussels."
    )
    currency = serializers.ChoiceField(
        choices=sorted(CURRENCIES), help_text="ISO 4217 code, e.g. EUR."
    )

    def validate_timezone(self, value: str) -> str:
        if value not in _timezones():
            raise serializers.ValidationError(
                "Unknown timezone; use an IANA name such as Europe/Brussels."
            )
        return value


class PosConnectionSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["connected", "disconnected", NOT_CONFIGURED])
    message = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class PosConnectionsSerializer(serializers.Serializer[Any]):
    hendrickx = PosConnectionSerializer()
    vanhoutte = PosConnectionSerializer()


class LocationSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    pos_connection = PosConnectionsSerializer(
        help_text="The POS connection status per provider (mirrored from its integration)."
    )

    def to_representation(self, instance: Location) -> dict[str, Any]:
        return super().to_representation(
            {
                "id": instance.id,
                "name": instance.name,
                "timezone": instance.timezone,
                "currency": instance.currency,
                "created_at": instance.created_at,
                "pos_connection": {
                    provider: instance.pos_connection.get(
                        provider, {"status": NOT_CONFIGURED, "message": "", "updated_at": None}
                    )
                    for provider in PROVIDERS
                },
            }
        )
