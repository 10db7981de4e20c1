from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.api import StrictSerializer
from incidents.kinds import EVENT_TYPES
from incidents.repository import Channel, Delivery, Incident
from incidents.urlpolicy import validate_webhook_url

CHANNEL_KINDS = ("email", "webhook")


class ChannelCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=CHANNEL_KINDS)
    address = serializers.EmailField(required=False, max_length=254)
    url = serializers.CharField(required=False, max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        allow_empty=False,
        help_text="Event types to receive; every type when left out.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        if kind == "email":
            if "url" in attrs:
                raise serializers.ValidationError(
                    {"url": ["An email channel has no url; remove it."]}
                )
            if "address" not in attrs:
                raise serializers.ValidationError(
                    {"address": ["Give the e-mail address to notify."]}
                )
            attrs["target"] = attrs.pop("address")
        else:
            if "address" in attrs:
                raise serializers.ValidationError(
                    {"address": ["A webhook channel has no address; remove it."]}
                )
            if "url" not in attrs:
                raise serializers.ValidationError({"url": ["Give the URL to send webhooks to."]})
            try:
                attrs["target"] = validate_webhook_url(attrs.pop("url").strip())
            except ValueError as error:
                raise serializers.ValidationError({"url": [str(error)]}) from None
        events = attrs.get("events")
        attrs["events"] = list(dict.fromkeys(events)) if events else list(EVENT_TYPES)
        return attrs


class ChannelSerializer(serializers.Serializer[Channel]):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=CHANNEL_KINDS)
    address = serializers.CharField(allow_null=True, help_text="An email channel's address.")
    url = serializers.CharField(allow_null=True, help_text="A webhook channel's URL.")
    events = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class ChannelCreatedSerializer(ChannelSerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The webhook signing secret, shown only in this answer (null for email).",
    )


class DeliverySerializer(serializers.Serializer[Delivery]):
    id = serializers.CharField()
    channel_id = serializers.CharField()
    kind = serializers.CharField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    incident_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["pending", "sending", "delivered", "failed"])
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    replays = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IncidentSerializer(serializers.Serializer[Incident]):
    id = serializers.CharField()
    location_id = serializers.CharField()
    location_name = serializers.CharField()
    provider = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", "resolved"])
    title = serializers.CharField()
    message = serializers.CharField()
    data = serializers.DictField()
    occurrences = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField(allow_null=True)


class IncidentQuerySerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=["open", "resolved"], required=False)
    location_id = serializers.CharField(required=False, max_length=24)


class ReadinessSerializer(serializers.Serializer[Any]):
    accepting_orders = serializers.BooleanField()
    channels = serializers.DictField(child=serializers.BooleanField())
    reasons = serializers.ListField(child=serializers.CharField())
