"""Incidents open once and resolve once, per location and kind, and notify each channel once
per transition: real MongoDB, the in-process simulator, a real SMTP server and a real webhook
receiver on 127.0.0.1 (deliveries are attempted in this process, see conftest)."""

from __future__ import annotations

import hashlib
import hmac
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import kassanet
from incidents import detection, kinds
from incidents.repository import IncidentRepository
from integrations.credentials import Credentials
from integrations.repository import CONNECTED, DISCONNECTED, Integration, IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from orders import services
from orders.push import OrderPusher
from orders.repository import TransactionRepository
from orders.states import PushStatus
from tests.incidents.support import MailBox, Receiver
from tests.orders.conftest import Menu, fast_config
from tests.orders.helpers import paid_order

ALL = frozenset(PushStatus) - {PushStatus.PAID, PushStatus.FAILED, PushStatus.NEED_REQUEUE}


def add_channel(api: Any, **body: Any) -> dict[str, Any]:
    response = api.post("/api/backoffice/notification-channels", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def pusher() -> OrderPusher:
    return OrderPusher(config=fast_config(), jitter=kassanet.no_jitter)


def refuse_orders(simulator: SimulatorHandle) -> None:
    """Every SendOrder answers 422 AMOUNT_MISMATCH: a permanent error, the order fails."""
    simulator.set_faults(
        endpoint_status={
            "endpoint": "SendOrder",
            "status": 422,
            "code": "AMOUNT_MISMATCH",
            "count": None,
        }
    )


def test_fifty_failing_orders_give_one_incident_and_one_email_then_one_resolution(
    location: Location,
    integration: Integration,
    menu: Menu,
    simulator: SimulatorHandle,
    api: Any,
    mailbox: MailBox,
    inline_deliveries: list[Any],
) -> None:
    add_channel(api, kind="email", address="ops@gent.example")
    refuse_orders(simulator)
    orders = [
        paid_order(location, integration, menu, datetime.now(UTC), products=[("P1", 1, ())])
        for _ in range(50)
    ]
    for txn in orders:
        assert pusher().advance(txn.id, ALL).status is PushStatus.FAILED

    incidents = IncidentRepository().search(location_id=location.id)
    assert [(i.kind, i.status, i.occurrences) for i in incidents] == [
        (kinds.ORDER_FAILED, "open", 50)
    ]
    assert len(incidents[0].samples) == 10  # bounded
    assert mailbox.subjects() == ["[Upvendo] Gent: Orders failed"]
    body = mailbox.messages[0].get_content()
    assert "An order could not be sent to the register: " in body
    assert "AMOUNT_MISMATCH" in body
    assert "Occurrences: 1" in body
    assert simulator.signature_key not in body and simulator.encryption_token not in body

    # Nothing resolves while failed orders remain; once each is retried and paid, it does.
    assert detection.check().resolved == 0
    simulator.reset()
    for txn in orders:
        current = TransactionRepository().get(txn.id)
        assert current is not None
        resumed = pusher().resume(current, detail="retried by hand")
        assert resumed is not None
        assert pusher().advance(txn.id, ALL).status is PushStatus.PAID
    assert detection.check().resolved == 1
    assert detection.check().resolved == 0
    assert mailbox.subjects() == [
        "[Upvendo] Gent: Orders failed",
        "[Upvendo] Gent: Resolved: Orders failed",
    ]
    resolved = mailbox.messages[1].get_content()
    assert "Resolution: Every order that failed was retried successfully." in resolved
    assert "Occurrences: 50" in resolved


def test_concurrent_openings_open_one_incident(
    location: Location, mailbox: MailBox, api: Any, inline_deliveries: list[Any]
) -> None:
    add_channel(api, kind="email", address="ops@gent.example")

    def fail_once(n: int) -> bool:
        opened = detection.open_incident(kinds.ORDER_FAILED, location.id, f"order {n} failed")
        return bool(opened and opened.new)

    with ThreadPoolExecutor(max_workers=8) as pool:
        firsts = list(pool.map(fail_once, range(40)))

    assert firsts.count(True) == 1
    (incident,) = IncidentRepository().search(location_id=location.id)
    assert incident.occurrences == 40
    assert mailbox.subjects() == ["[Upvendo] Gent: Orders failed"]


def test_rejected_credentials_send_a_signed_webhook_then_its_resolution(
    location: Location,
    simulator: SimulatorHandle,
    api: Any,
    receiver: Receiver,
    inline_deliveries: list[Any],
) -> None:
    created = add_channel(api, kind="webhook", url=receiver.url, events=["credentials.rejected"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    listed = api.get("/api/backoffice/notification-channels").json()
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    assert secret not in str(listed)

    repository = IntegrationRepository()
    wrong = Credentials(
        simulator.base_url, "a-wrong-signature-key-1234", simulator.encryption_token, True
    )
    integration = repository.upsert(location.id, "hendrickx", wrong, {})
    service = get_service("hendrickx")
    assert not service.test_connection(integration).connected

    (request,) = receiver.requests
    event = request.json()
    assert set(event) == {"id", "type", "created", "location", "provider", "data"}
    assert event["type"] == "credentials.rejected"
    assert event["location"] == {"id": location.id, "name": "Gent"}
    assert event["provider"] == "hendrickx"
    assert event["data"]["incident"]["state"] == "open"
    assert "HTTP 401" in event["data"]["incident"]["message"]
    for value in (wrong.signature_key, simulator.encryption_token, secret):
        assert value not in request.body.decode()
    # The signature: HMAC-SHA256 over "<t>.<body>" with the secret shown at creation.
    header = request.headers["X-Upvendo-Signature"]
    parts = dict(item.split("=", 1) for item in header.split(","))
    assert set(parts) == {"t", "v1"}
    assert abs(int(parts["t"]) - datetime.now(UTC).timestamp()) < 30
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256)
    assert parts["v1"] == expected.hexdigest()
    assert request.headers["Content-Type"] == "application/json"

    right = Credentials(
        simulator.base_url, simulator.signature_key, simulator.encryption_token, True
    )
    integration = repository.upsert(location.id, "hendrickx", right, {})
    assert service.test_connection(integration).connected
    assert [e["type"] for e in receiver.bodies()] == ["credentials.rejected"] * 2
    resolution = receiver.bodies()[1]["data"]["incident"]
    assert resolution["state"] == "resolved" and resolution["resolved_at"]
    assert receiver.bodies()[1]["id"] != event["id"]


def test_a_disconnection_alerts_only_past_the_threshold_and_resolves_on_reconnection(
    location: Location,
    integration: Integration,
    settings: Any,
    api: Any,
    mailbox: MailBox,
    receiver: Receiver,
    inline_deliveries: list[Any],
) -> None:
    settings.ALERT_DISCONNECTED_MINUTES = 0.5  # fractions allowed: 30 s
    add_channel(api, kind="email", address="ops@gent.example")
    add_channel(api, kind="webhook", url=receiver.url)
    repository = IntegrationRepository()
    repository.set_connection(integration.id, DISCONNECTED, "Disconnected: connection refused")
    start = datetime.now(UTC)

    assert detection.check(start + timedelta(seconds=20)).opened == 0
    # Re-tests that fail again do not move the start of the outage.
    repository.set_connection(integration.id, DISCONNECTED, "Disconnected: connection refused")
    assert detection.check(start + timedelta(seconds=31)).opened == 1
    assert detection.check(start + timedelta(seconds=90)).opened == 0
    assert mailbox.subjects() == ["[Upvendo] Gent: Register disconnected"]
    assert [e["type"] for e in receiver.bodies()] == ["register.disconnected"]

    repository.set_connection(integration.id, CONNECTED, "Connected to Kassanet 1.0.")
    repository.set_connection(integration.id, CONNECTED, "Connected to Kassanet 1.0.")
    assert mailbox.subjects() == [
        "[Upvendo] Gent: Register disconnected",
        "[Upvendo] Gent: Resolved: Register disconnected",
    ]
    assert [e["type"] for e in receiver.bodies()] == [
        "register.disconnected",
        "register.reconnected",
    ]
    assert detection.check(start + timedelta(seconds=120)).opened == 0


def test_a_short_disconnection_sends_nothing(
    location: Location,
    integration: Integration,
    settings: Any,
    api: Any,
    mailbox: MailBox,
    inline_deliveries: list[Any],
) -> None:
    settings.ALERT_DISCONNECTED_MINUTES = 5
    add_channel(api, kind="email", address="ops@gent.example")
    repository = IntegrationRepository()
    repository.set_connection(integration.id, DISCONNECTED, "Disconnected")
    assert detection.check(datetime.now(UTC) + timedelta(minutes=4)).opened == 0
    repository.set_connection(integration.id, CONNECTED, "Connected")
    assert detection.check(datetime.now(UTC) + timedelta(minutes=10)).opened == 0
    assert mailbox.subjects() == []


def test_orders_waiting_past_the_threshold_open_one_incident(
    location: Location,
    integration: Integration,
    menu: Menu,
    settings: Any,
    api: Any,
    mailbox: MailBox,
    inline_deliveries: list[Any],
) -> None:
    settings.ALERT_ORDER_WAITING_MINUTES = 5
    add_channel(api, kind="email", address="ops@gent.example", events=["order.waiting"])
    repository = IntegrationRepository()
    repository.set_connection(integration.id, DISCONNECTED, "Disconnected")
    for _ in range(3):
        txn = services.create_transaction(
            location,
            channel="kiosk",
            service_type="takeaway",
            table_number=None,
            lines=[services.LineRequest(menu.items["P1"], 1, [])],
        )
        services.confirm_payment(
            txn,
            amount=txn.total,
            currency=txn.currency,
            payment_provider="stripe",
            payment_reference=f"pi_{txn.id}",
        )
    now = datetime.now(UTC)
    assert detection.check(now + timedelta(minutes=4)).opened == 0
    # The register's own incident opens too (past ALERT_DISCONNECTED_MINUTES, 5 by default).
    assert detection.check(now + timedelta(minutes=6)).opened == 2
    assert detection.check(now + timedelta(minutes=7)).opened == 0
    open_kinds = {i.kind: i for i in IncidentRepository().search(location_id=location.id)}
    assert set(open_kinds) == {kinds.ORDER_WAITING, kinds.REGISTER_DISCONNECTED}
    incident = open_kinds[kinds.ORDER_WAITING]
    assert incident.data["waiting_orders"] == 3
    assert incident.message.startswith(
        "3 order(s) have been waiting for the register for more than 5 min"
    )

    # Connection back: the orders are re-queued; the incident resolves at the next check.
    assert services.requeue_orders(integration.id, pusher()) == 3
    assert detection.check(now + timedelta(minutes=8)).resolved == 1
    assert mailbox.subjects() == [
        "[Upvendo] Gent: Orders waiting for the register",
        "[Upvendo] Gent: Resolved: Orders waiting for the register",
    ]


def test_a_failed_menu_sync_opens_an_incident_and_the_next_success_resolves_it(
    location: Location,
    integration: Integration,
    api: Any,
    receiver: Receiver,
    inline_deliveries: list[Any],
) -> None:
    add_channel(api, kind="webhook", url=receiver.url, events=["menu_sync.failed"])
    repository = IntegrationRepository()
    for status, message in [
        (
            "error",
            "Menu import failed at the products stage: boom. The previous menu is unchanged.",
        ),
        ("error", "Menu import failed again."),
        ("success", "Imported 30 items."),
    ]:
        run_id = f"run-{status}-{len(receiver.requests)}"
        assert repository.claim_sync(integration.id, run_id)
        assert repository.finish_sync(integration.id, run_id, status, message, {"run_id": run_id})
    events = receiver.bodies()
    assert [(e["type"], e["data"]["incident"]["state"]) for e in events] == [
        ("menu_sync.failed", "open"),
        ("menu_sync.failed", "resolved"),
    ]
    assert events[0]["data"]["incident"]["message"].startswith("Menu import failed at the products")
    assert events[1]["data"]["incident"]["occurrences"] == 2


def test_history_is_bounded_per_location(location: Location, settings: Any) -> None:
    settings.INCIDENT_HISTORY_PER_LOCATION = 3
    for n in range(5):
        detection.open_incident(kinds.MENU_SYNC_FAILED, location.id, f"failure {n}")
        detection.resolve_incident(kinds.MENU_SYNC_FAILED, location.id, "ok")
    kept = IncidentRepository().search(location_id=location.id)
    assert [i.message for i in kept] == ["failure 4", "failure 3", "failure 2"]
