"""End to end: the register goes offline (the simulator's control API) for longer than
ALERT_DISCONNECTED_MINUTES; REAL Celery workers and a REAL celery beat (every second) detect
it through the heartbeat, and exactly one e-mail (over real SMTP, aiosmtpd) and one webhook (a real receiver on
127.0.0.1) go out; when the register answers again, one resolution of each. Readiness turns
false past its grace period and true again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location, LocationRepository
from tests.e2e_support import wait_for
from tests.incidents.support import MailBox, Receiver, smtp_server, webhook_receiver
from tests.orders.conftest import TABLES, connect_integration, import_menu
from tests.orders.e2e_stack import CeleryStack, celery_stack
from upvendo.mongo import ensure_indexes, get_client, get_db

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DB_NAME = f"test_alerts_e2e_{uuid.uuid4().hex[:8]}"
REDIS_PREFIX = f"test:alerts-e2e-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[MailBox, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture(scope="module")
def stack(smtp: tuple[MailBox, int]) -> Iterator[CeleryStack]:
    settings = {
        "MONGODB_DB": DB_NAME,
        "REDIS_KEY_PREFIX": REDIS_PREFIX,
        "POS_TIMEOUT_SECONDS": "2",
        "ORDER_PUSH_BEAT_SECONDS": "1",
        "ALERT_CHECK_SECONDS": "1",
        "ALERT_DISCONNECTED_MINUTES": "0.05",  # 3 s
        "ALERT_HEARTBEAT_MINUTES": "0.02",  # connected registers re-tested every ~1 s
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp[1]),
    }
    with celery_stack(settings, queues=(("default", 2), ("connection-tests", 1))) as running:
        yield running
    get_client().drop_database(DB_NAME)


@pytest.fixture(autouse=True)
def mongo_db(settings: Any) -> Database[dict[str, Any]]:
    settings.MONGODB_DB = DB_NAME
    db = get_db()
    ensure_indexes(db)
    return db


@pytest.fixture(autouse=True)
def redis_namespace(settings: Any) -> str:
    settings.REDIS_KEY_PREFIX = REDIS_PREFIX
    return REDIS_PREFIX


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    with start_simulator(products=10, tables=len(TABLES), encrypt=True) as sim:
        yield sim


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def test_an_outage_sends_one_email_and_one_webhook_then_one_resolution_each(
    stack: CeleryStack,
    smtp: tuple[MailBox, int],
    receiver: Receiver,
    simulator: SimulatorHandle,
    mongo_db: Database[dict[str, Any]],
    settings: Any,
) -> None:
    mailbox = smtp[0]
    user: VendorUser = ensure_vendor_user("alice", vendor_name="Alice's")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {user.token}")
    location: Location = LocationRepository().create(
        vendor_id=str(user.vendor.pk), name="Gent", timezone="Europe/Brussels", currency="EUR"
    )
    connect_integration(location, simulator)
    import_menu(mongo_db, location.id, simulator.catalog())
    for body in (
        {"kind": "email", "address": "ops@gent.example"},
        {"kind": "webhook", "url": receiver.url},
    ):
        assert (
            api.post("/api/backoffice/notification-channels", body, format="json").status_code
            == 201
        )
    readiness = f"/api/backoffice/locations/{location.id}/readiness"
    settings.READINESS_DISCONNECTED_GRACE_MINUTES = 0.05
    assert api.get(readiness).json()["accepting_orders"] is True

    # Nobody clicks Test and no order is pushed: beat's heartbeat notices the outage.
    simulator.set_faults(offline=True)

    try:
        wait_for(lambda: len(mailbox.messages) >= 1, timeout=40, what="the outage e-mail")
        wait_for(lambda: len(receiver.requests) >= 1, timeout=20, what="the outage webhook")
    except AssertionError:
        print(stack.logs())
        raise
    assert api.get(readiness).json() == {
        "accepting_orders": False,
        "channels": {"kiosk": False, "online": False, "table_qr": False},
        "reasons": [api.get(readiness).json()["reasons"][0]],
    }
    assert api.get(readiness).json()["reasons"][0].startswith("The register has been disconnected")
    time.sleep(3)  # several beat checks later: still one of each
    assert mailbox.subjects() == ["[Upvendo] Gent: Register disconnected"]
    assert [e["type"] for e in receiver.bodies()] == ["register.disconnected"]

    simulator.set_faults(offline=False)  # beat re-tests the register every second
    wait_for(lambda: len(mailbox.messages) >= 2, timeout=40, what="the resolution e-mail")
    wait_for(lambda: len(receiver.requests) >= 2, timeout=20, what="the resolution webhook")
    time.sleep(3)
    assert mailbox.subjects() == [
        "[Upvendo] Gent: Register disconnected",
        "[Upvendo] Gent: Resolved: Register disconnected",
    ]
    assert [e["type"] for e in receiver.bodies()] == [
        "register.disconnected",
        "register.reconnected",
    ]
    assert api.get(readiness).json()["accepting_orders"] is True
    for message in mailbox.messages:
        text = message.get_content()
        assert simulator.signature_key not in text and simulator.encryption_token not in text
