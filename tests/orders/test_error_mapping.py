"""How register errors map onto the push, with respx doubles at the POS boundary."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

import kassanet
from integrations.credentials import Credentials
from integrations.repository import CONNECTED, IntegrationRepository
from locations.repository import Location
from orders.push import OrderPusher, Outcome
from orders.states import IN_FLIGHT, PushStatus
from tests.orders.conftest import PROVIDER, Clock, import_menu
from tests.orders.helpers import paid_order

pytestmark = pytest.mark.django_db
BASE = "http://127.0.0.1:9/kassanet/"
KEY = "k" * 16
CATALOG = {
    "products": [
        {"id": "P1", "name": "Croque", "kitchen_name": "C", "price": "12.50", "modifier_groups": []}
    ]
}


def signed(payload: Any) -> httpx.Response:
    """A 200 answer signed with the integration's key, as a register answers."""
    body = json.dumps(payload).encode()
    date = kassanet.format_date(datetime.now(UTC))
    headers = {"Date": date, "Signature": kassanet.sign(KEY, date, body)}
    return httpx.Response(200, content=body, headers=headers)


def error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": "register says no"}})


@pytest.fixture
def order_id(location: Location, indexed_db: Any, clock: Clock) -> str:
    repo = IntegrationRepository()
    integration = repo.upsert(
        location.id,
        PROVIDER,
        Credentials(BASE, KEY, "t" * 16, False),
        {"tables": [1, 2], "payment_type_id": "PT3"},
    )
    repo.set_connection(integration.id, CONNECTED, "Connected.")
    menu = import_menu(indexed_db, location.id, CATALOG)
    return paid_order(location, repo.get_by_id(integration.id), menu, clock()).id  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer", "expected", "code"),
    [
        (httpx.ConnectError("refused"), Outcome(PushStatus.NEED_REQUEUE), None),
        (httpx.ReadTimeout("slow"), Outcome(PushStatus.NEED_REQUEUE), None),
        (error(503, "BUSY"), Outcome(PushStatus.QUEUED, retry_in=1.0), "BUSY"),
        (error(429, "SLOW_DOWN"), Outcome(PushStatus.QUEUED, retry_in=1.0), "SLOW_DOWN"),
        (error(401, "BAD_SIGNATURE"), Outcome(PushStatus.FAILED), "BAD_SIGNATURE"),
        (error(409, "CONFLICT"), Outcome(PushStatus.FAILED), "CONFLICT"),
        (error(501, "NOT_IMPLEMENTED"), Outcome(PushStatus.FAILED), "NOT_IMPLEMENTED"),
    ],
)
def test_register_errors_map_to_retry_requeue_or_failure(
    order_id: str, pusher: OrderPusher, answer: Any, expected: Outcome, code: str | None
) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(BASE + "GetFreeTableNumber")
        if isinstance(answer, Exception):
            route.side_effect = answer
        else:
            route.return_value = answer

        outcome = pusher.advance(order_id, IN_FLIGHT)

    assert outcome == expected
    txn = pusher.transactions.get(order_id)
    assert txn is not None and txn.push is not None
    assert (txn.push.err_code, txn.push.attempts) == (code, 1)
    assert txn.need_requeue is (expected.status == PushStatus.NEED_REQUEUE)
    connection = IntegrationRepository().get_by_id(txn.push.integration_id).connection  # type: ignore[union-attr]
    assert connection["status"] == (
        "disconnected" if expected.status == PushStatus.NEED_REQUEUE else "connected"
    )


def test_a_bill_not_found_after_sending_fails_with_the_register_code(
    order_id: str, pusher: OrderPusher
) -> None:
    with respx.mock() as mock:
        mock.get(BASE + "GetFreeTableNumber").mock(return_value=signed({"table_number": 2}))
        mock.post(BASE + "SendOrder").mock(
            return_value=signed({"table_number": 2, "bill_id": "B9"})
        )
        mock.get(BASE + "GetBill").mock(return_value=error(404, "BILL_NOT_FOUND"))

        assert pusher.advance(order_id, IN_FLIGHT) == Outcome(PushStatus.FAILED)

    push = pusher.transactions.get(order_id).push  # type: ignore[union-attr]
    assert push is not None
    assert (push.err_code, push.err_message, push.resume_status) == (
        "BILL_NOT_FOUND",
        "Kassanet GetBill failed with HTTP 404 (BILL_NOT_FOUND: register says no)",
        PushStatus.ORDER_SENT,
    )
