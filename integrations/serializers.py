from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.api import StrictSerializer
from integrations.credentials import Credentials
from integrations.repository import Integration, LogEntry
from integrations.schedule import parse_hhmm
from integrations.validation import (
    MAX_ENCRYPTION_TOKEN_BYTES,
    MAX_SECRET_LENGTH,
    MAX_URL_LENGTH,
    validate_encryption_token,
    validate_pos_url,
)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (not "yes", 1, "on" ...)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def _as_field_error(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as error:
        raise serializers.ValidationError(str(error)) from None


CREDENTIAL_FIELDS = ("base_url", "signature_key", "encryption_token", "enable_encryption")
SECRET_FIELDS = ("signature_key", "encryption_token")
NEW_URL_NEEDS_SECRETS = (
    "A new base_url needs the signature_key and encryption_token in the same request; "
    "the stored ones are never sent to another address."
)
KEEPS_STORED = " Required to connect; omit it later to keep the stored value."


class ConnectSerializer(StrictSerializer):
    """Connect, or update the existing integration.

    Every credential field is required for the first connect. On an update an omitted one
    keeps its stored value, so settings such as `sync_time` can change without re-entering
    the secrets; but a changed `base_url` needs both secrets again (400 otherwise). Pass the stored credentials as `context={"stored": Credentials}`.
    """

    base_url = serializers.CharField(
        required=False,
        max_length=MAX_URL_LENGTH,
        help_text="The register's Connection URL: https (http only for local development "
        "hosts), not a link-local or cloud-metadata address." + KEEPS_STORED,
    )
    signature_key = serializers.CharField(
        required=False, max_length=MAX_SECRET_LENGTH, write_only=True, help_text=KEEPS_STORED
    )
    encryption_token = serializers.CharField(
        required=False,
        max_length=MAX_SECRET_LENGTH,
        write_only=True,
        help_text=f"At most {MAX_ENCRYPTION_TOKEN_BYTES} bytes (UTF-8): Blowfish's key limit."
        + KEEPS_STORED,
    )
    enable_encryption = StrictBooleanField(required=False, help_text=KEEPS_STORED.strip())
    sync_time = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=5,
        help_text='Daily menu sync at this local time of the location ("HH:mm"); '
        "null turns it off; omitted keeps the current one.",
    )
    allow_unsigned_responses = StrictBooleanField(
        required=False,
        help_text="Accept register answers without a Signature (off by default; only for a "
        "register that cannot sign: anyone between us and it could then forge its answers). "
        "Omitted keeps the current value.",
    )
    stock_refresh_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=1440,
        help_text="Refresh stock and availability from the register every this many minutes "
        "(default 5); null turns it off; omitted keeps the current one.",
    )
    max_delete_share = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0.0,
        max_value=1.0,
        help_text="The mass-change guard for this integration: an import that would delete more "
        "than this share (0-1) of its items is held for review; null uses "
        "MENU_IMPORT_MAX_DELETE_SHARE; omitted keeps the current one.",
    )

    def validate_base_url(self, value: str) -> str:
        return str(_as_field_error(validate_pos_url, value))

    def validate_encryption_token(self, value: str) -> str:
        return str(_as_field_error(validate_encryption_token, value))

    def validate_sync_time(self, value: str | None) -> str | None:
        if value is not None:
            _as_field_error(parse_hhmm, value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        stored: Credentials | None = self.context.get("stored")
        missing = [name for name in CREDENTIAL_FIELDS if name not in attrs]
        if missing and stored is None:
            raise serializers.ValidationError(
                {name: [serializers.Field.default_error_messages["required"]] for name in missing}
            )
        if stored is not None and attrs.get("base_url", stored.base_url) != stored.base_url:
            # Stored secrets never follow a new address: signed traffic can't be redirected.
            absent = [name for name in SECRET_FIELDS if name not in attrs]
            if absent:
                raise serializers.ValidationError(
                    {name: [NEW_URL_NEEDS_SECRETS] for name in absent}
                )
        for name in missing:
            attrs[name] = getattr(stored, name)
        return attrs

    def credentials(self) -> Credentials:
        data = self.validated_data
        return Credentials(**{name: data[name] for name in CREDENTIAL_FIELDS})


class MaskedCredentialsSerializer(serializers.Serializer[Any]):
    base_url = serializers.CharField()
    signature_key = serializers.CharField(help_text='Masked: "••••" and the last four.')
    encryption_token = serializers.CharField(help_text='Masked: "••••" and the last four.')
    enable_encryption = serializers.BooleanField()


class IntegrationSettingsSerializer(serializers.Serializer[Any]):
    sync_time = serializers.CharField(allow_null=True, help_text="UTC HH:mm.")
    sync_time_local = serializers.CharField(allow_null=True, help_text="Location's time.")
    next_run_time = serializers.DateTimeField(allow_null=True)
    tables = serializers.ListField(child=serializers.IntegerField())
    table_section_id = serializers.CharField(allow_null=True)
    payment_type_id = serializers.CharField(allow_null=True)
    max_delete_share = serializers.FloatField(
        allow_null=True, help_text="null: MENU_IMPORT_MAX_DELETE_SHARE applies."
    )
    stock_refresh_minutes = serializers.IntegerField(
        allow_null=True, help_text="Stock refresh interval; null: off."
    )
    allow_unsigned_responses = serializers.BooleanField(
        default=False,
        help_text="True when the integration accepts unsigned register answers (a warning).",
    )


class SyncStatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        # The same choices, in the same order, as an import run's (menus.runs.RUN_STATUSES).
        choices=["in_progress", "success", "error", "needs_review", "discarded", "preview"],
        allow_null=True,
    )
    message = serializers.CharField(allow_blank=True)
    stage = serializers.CharField(allow_null=True)
    details = serializers.DictField()
    last_sync = serializers.DateTimeField(allow_null=True)


class ConnectionStatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["connected", "disconnected"])
    message = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class LogEntrySerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField(help_text="The latest occurrence.")
    first_at = serializers.DateTimeField(help_text="The first of `count` repeats in a row.")
    level = serializers.ChoiceField(choices=["info", "warning", "error"])
    event = serializers.CharField()
    message = serializers.CharField()
    count = serializers.IntegerField(min_value=1)


SETTING_DEFAULTS: dict[str, Any] = {
    "tables": [],
    "stock_refresh_minutes": 5,
    "allow_unsigned_responses": False,
}


class IntegrationSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    location_id = serializers.CharField()
    provider = serializers.CharField()
    credentials = MaskedCredentialsSerializer()
    settings = IntegrationSettingsSerializer()
    sync_status = SyncStatusSerializer()
    connection = ConnectionStatusSerializer()
    logs = LogEntrySerializer(many=True, help_text="Newest first, at most 100.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @staticmethod
    def build(integration: Integration, logs: list[LogEntry]) -> dict[str, Any]:
        data = {
            "id": integration.id,
            "location_id": integration.location_id,
            "provider": integration.provider,
            "credentials": integration.credentials.masked(),
            "settings": {
                name: integration.settings.get(name, SETTING_DEFAULTS.get(name))
                for name in IntegrationSettingsSerializer().fields
            },
            "sync_status": {
                "status": integration.sync_status.get("status"),
                "message": integration.sync_status.get("message", ""),
                "stage": integration.sync_status.get("stage"),
                "details": integration.sync_status.get("details", {}),
                "last_sync": integration.sync_status.get("last_sync"),
            },
            "connection": integration.connection,
            "logs": logs,
            "created_at": integration.created_at,
            "updated_at": integration.updated_at,
        }
        return dict(IntegrationSerializer(data).data)


class SystemInfoSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    version = serializers.CharField()
    register = serializers.CharField()


class ConnectionTestSerializer(serializers.Serializer[Any]):
    connected = serializers.BooleanField()
    message = serializers.CharField()
    system = SystemInfoSerializer(allow_null=True)
    payment_type_id = serializers.CharField(allow_null=True)
