"""Fixtures of the incidents tests: a vendor with a location and a Hendrickx integration on an
in-process simulator, a real SMTP server, a real webhook receiver, and deliveries attempted in
this process (no worker) with the real email backend and HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from incidents import notify
from integrations.repository import Integration
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location, LocationRepository
from tests.incidents.support import MailBox, Receiver, smtp_server, webhook_receiver
from tests.orders.conftest import TABLES, Menu, connect_integration, import_menu


@pytest.fixture(autouse=True)
def _no_heartbeat(settings: Any) -> None:
    """CheckIncidentsJob's heartbeat enqueues connection tests: off unless a test wants it."""
    settings.ALERT_HEARTBEAT_MINUTES = 0


@pytest.fixture
def vendor_user(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", vendor_name="Alice's")


@pytest.fixture
def other_user(db: Any) -> VendorUser:
    return ensure_vendor_user("bob", vendor_name="Bob's")


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], vendor_user: VendorUser) -> Location:
    return LocationRepository().create(
        vendor_id=str(vendor_user.vendor.pk),
        name="Gent",
        timezone="Europe/Brussels",
        currency="EUR",
    )


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    with start_simulator(products=30, tables=len(TABLES), encrypt=True) as sim:
        yield sim


@pytest.fixture
def integration(location: Location, simulator: SimulatorHandle) -> Integration:
    return connect_integration(location, simulator)


@pytest.fixture
def menu(
    indexed_db: Database[dict[str, Any]], location: Location, simulator: SimulatorHandle
) -> Menu:
    return import_menu(indexed_db, location.id, simulator.catalog())


@pytest.fixture
def api(vendor_user: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {vendor_user.token}")
    return client


@pytest.fixture
def mailbox(settings: Any) -> Iterator[MailBox]:
    """A real SMTP server; Django's SMTP backend sends to it."""
    with smtp_server() as (box, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        yield box


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def inline_deliveries(monkeypatch: Any) -> list[tuple[str, float | None]]:
    """Deliveries attempted at once in this process (their first attempt only); returns
    (delivery id, seconds until the next attempt) for each."""
    attempts: list[tuple[str, float | None]] = []

    def enqueue(delivery_id: str, countdown: float | None = None) -> None:
        attempts.append((delivery_id, notify.deliver(delivery_id)))

    monkeypatch.setattr(notify, "enqueue_delivery", enqueue)
    # detection imported the name; point it at the same function.
    from incidents import detection

    monkeypatch.setattr(detection, "enqueue_delivery", enqueue)
    return attempts
