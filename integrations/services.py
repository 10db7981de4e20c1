"""The Kassanet integration's behaviour, shared by both providers.

`AbstractKassanetService` holds everything; `HendrickxService` and `VanhoutteService` only
name the provider. Views, tasks and commands get one with `get_service(provider)` and call
one method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from django.conf import settings

import kassanet
from integrations.credentials import Credentials
from integrations.events import emit_reload_menu
from integrations.imported_data import delete_imported
from integrations.providers import PROVIDERS
from integrations.repository import (
    CONNECTED,
    DISCONNECTED,
    Integration,
    IntegrationRepository,
)
from integrations.schedule import sync_time_settings
from integrations.signals import connection_restored
from locations.repository import Location, LocationRepository
from upvendo.logging import redact

logger = logging.getLogger(__name__)

WEBSHOP_PAYMENT_TYPE = "webshop"
TEST_FAILED = "Connection test failed"
# The connection test answers an HTTP request: one quick retry at most, never the long budget.
CONNECTION_TEST_RETRY = kassanet.RetryPolicy(max_attempts=2, initial_delay=0.5, total_budget=3.0)


class UnknownProviderError(LookupError):
    pass


class _Keep:
    """Sentinel: leave the stored value as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


@dataclass(frozen=True)
class ConnectionTestResult:
    connected: bool
    message: str
    system: kassanet.SystemInfo | None = None
    payment_type_id: str | None = None


class AbstractKassanetService:
    provider: ClassVar[str]
    display_name: ClassVar[str]
    table_section_prefix: ClassVar[str]
    external_id_key: ClassVar[str]

    def __init__(
        self,
        integrations: IntegrationRepository | None = None,
        locations: LocationRepository | None = None,
    ) -> None:
        self._integrations = integrations
        self._locations = locations

    @property
    def integrations(self) -> IntegrationRepository:
        if self._integrations is None:
            self._integrations = IntegrationRepository(locations=self.locations)
        return self._integrations

    @property
    def locations(self) -> LocationRepository:
        if self._locations is None:
            self._locations = LocationRepository()
        return self._locations

    def client(
        self, integration: Integration, *, retry: kassanet.RetryPolicy | None = None
    ) -> kassanet.KassanetClient:
        """A client for the integration's register, with the configured timeout."""
        credentials = integration.credentials
        timeout = float(settings.POS_TIMEOUT_SECONDS)
        return kassanet.KassanetClient(
            credentials.base_url,
            credentials.signature_key,
            credentials.encryption_token,
            credentials.enable_encryption,
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            retry=retry,
            allow_unsigned_responses=bool(integration.settings.get("allow_unsigned_responses")),
        )

    # -- connect / disconnect -----------------------------------------------------------------

    def connect(
        self,
        location: Location,
        credentials: Credentials,
        sync_time_local: str | _Keep | None = KEEP,
        *,
        allow_unsigned_responses: bool | None = None,
        now: datetime | None = None,
    ) -> Integration:
        """Save credentials and settings: creates the integration or updates it in place.

        `sync_time_local` is "HH:mm" in the location's timezone, None to turn the daily sync
        off, or KEEP. Setting it also schedules the next run after `now` (the UTC
        `sync_time` and `next_run_time`); clearing it unschedules it.
        `allow_unsigned_responses` (None keeps it) lets the client accept unsigned answers.
        """
        fields: dict[str, Any] = {}
        if not isinstance(sync_time_local, _Keep):
            fields = sync_time_settings(
                sync_time_local, location.timezone, now or datetime.now(UTC)
            )
        if allow_unsigned_responses is not None:
            fields["allow_unsigned_responses"] = allow_unsigned_responses
        integration = self.integrations.upsert(location.id, self.provider, credentials, fields)
        self.integrations.append_log(
            integration.id, "info", "credentials_saved", "Credentials and settings saved."
        )
        return integration

    def disconnect(self, location_id: str) -> bool:
        """Remove the integration and what it imported; False when there was none."""
        if not self.integrations.delete(location_id, self.provider):
            return False
        deleted = delete_imported(location_id, self.provider)
        self.locations.clear_pos_connection(location_id, self.provider)
        emit_reload_menu(location_id, self.provider, reason=f"{self.display_name} disconnected")
        logger.info(
            "%s integration of location %s removed with its imported records %s",
            self.display_name,
            location_id,
            deleted,
        )
        return True

    # -- connection test ----------------------------------------------------------------------

    def test_connection(self, integration: Integration) -> ConnectionTestResult:
        """Call `test` then `GetPaymentTypes`; remember the Webshop payment type.

        Marks the integration (and its location) connected or disconnected, logs the outcome
        on the integration, and sends `connection_restored` when a disconnected integration
        connects again. Register failures are an outcome, not an exception.
        """
        try:
            with self.client(integration, retry=CONNECTION_TEST_RETRY) as client:
                system = client.test()
                payment_types = client.get_payment_types()
        except kassanet.KassanetError as error:
            return self._test_failed(integration, error.message)
        webshop = next(
            (pt for pt in payment_types if pt.name.strip().lower() == WEBSHOP_PAYMENT_TYPE),
            None,
        )
        if webshop is None:
            names = ", ".join(sorted(pt.name for pt in payment_types)) or "none"
            return self._test_failed(
                integration,
                f"the register has no payment type named Webshop (it has: {names}); "
                "add one in the register and test again",
                system,
            )
        self.integrations.update_settings(integration.id, payment_type_id=webshop.id)
        message = f"Connected to {system.name} {system.version} (register {system.register})."
        previous = self.integrations.set_connection(integration.id, CONNECTED, message)
        self.integrations.append_log(
            integration.id, "info", "connection_test", message, payment_type_id=webshop.id
        )
        if previous == DISCONNECTED:
            connection_restored.send(sender=type(self), integration_id=integration.id)
        return ConnectionTestResult(True, message, system, webshop.id)

    def _test_failed(
        self,
        integration: Integration,
        reason: str,
        system: kassanet.SystemInfo | None = None,
    ) -> ConnectionTestResult:
        message = redact(f"{TEST_FAILED}: {reason}")
        self.integrations.set_connection(integration.id, DISCONNECTED, message)
        self.integrations.append_log(integration.id, "error", "connection_test", message)
        logger.warning("%s integration %s: %s", self.display_name, integration.id, message)
        return ConnectionTestResult(False, message, system)

    # -- menu import (menus/importer.py) ------------------------------------------------------

    def import_menu(self, integration: Integration) -> str:
        """Start a full menu import in the background; returns its run id.

        Raises `menus.importer.ImportInProgressError` while another import runs, and
        `ImportNotStartedError` (with the claim released) when the workers cannot be reached.
        """
        from menus.importer import ImportNotStartedError, MenuImporter
        from menus.tasks import enqueue_menu_import

        importer = MenuImporter(self)
        run_id = importer.claim(integration)
        try:
            enqueue_menu_import(integration.id, run_id)
        except Exception as error:
            raise ImportNotStartedError(importer.release(integration, run_id, error)) from error
        return run_id

    def import_menu_now(
        self,
        integration: Integration,
        on_stage: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run a full menu import in this process; returns the final sync status.

        `on_stage(stage, sync_status)` is called after each stage (the command's progress).
        """
        from menus.importer import MenuImporter

        return MenuImporter(self).run_inline(integration, on_stage)


class HendrickxService(AbstractKassanetService):
    provider = "hendrickx"
    display_name = "Hendrickx"
    table_section_prefix = "Hendrickx"
    external_id_key = "hendrickx"


class VanhoutteService(AbstractKassanetService):
    provider = "vanhoutte"
    display_name = "Vanhoutte"
    table_section_prefix = "Vanhoutte"
    external_id_key = "vanhoutte"


SERVICES: dict[str, type[AbstractKassanetService]] = {
    cls.provider: cls for cls in (HendrickxService, VanhoutteService)
}
assert tuple(SERVICES) == PROVIDERS


def get_service(provider: str) -> AbstractKassanetService:
    try:
        return SERVICES[provider]()
    except KeyError:
        raise UnknownProviderError(
            f"Unknown POS provider {provider!r}; use one of {', '.join(PROVIDERS)}."
        ) from None
