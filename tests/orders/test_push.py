"""The push state machine against an in-process simulator over real HTTP, with a fake clock."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from integrations.repository import IntegrationRepository
from kassanet import OrderLine
from kassanet.testing import SimulatorHandle
from locations.repository import Location, LocationRepository
from orders.locks import TableLockRepository
from orders.push import OrderPusher, Outcome
from orders.repository import TransactionRepository
from orders.states import IN_FLIGHT, PushStatus
from tests.orders.conftest import PROVIDER, Clock, Menu
from tests.orders.helpers import paid_order

S = PushStatus
ALL = IN_FLIGHT
UP_TO_BILL_CHECK = frozenset({S.QUEUED, S.TABLE_ASSIGNED, S.SENDING, S.ORDER_SENT})
pytestmark = pytest.mark.django_db


def history(txn_id: str) -> list[str]:
    txn = TransactionRepository().get(txn_id)
    assert txn is not None and txn.push is not None
    return [entry["to"] for entry in txn.push.history]


def push_of(txn_id: str) -> Any:
    txn = TransactionRepository().get(txn_id)
    assert txn is not None
    return txn.push


def test_a_paid_order_becomes_a_paid_bill_through_every_state(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock(), products=[("P1", 2, ()), ("P2", 1, ())])

    outcome = pusher.advance(txn.id, ALL)

    assert outcome == Outcome(S.PAID)
    assert history(txn.id) == [
        "queued",
        "table_assigned",
        "sending",
        "order_sent",
        "bill_checked",
        "paying",
        "paid",
    ]
    push = push_of(txn.id)
    assert push.table_number == 1  # the register's free table
    assert push.bill_id == "B000001"
    assert push.err_message is None
    assert [(p["reference"], p["amount"]) for p in simulator.payments()] == [
        (txn.id, str(txn.total))
    ]
    assert txn.total == menu.prices["P1"] * 2 + menu.prices["P2"]
    lock = TableLockRepository().get(location.id, PROVIDER, 1)
    assert lock is not None and lock.owner is None
    usage = IntegrationRepository().get_by_id(integration.id).settings["tables_usage"]  # type: ignore[union-attr]
    assert usage == {"1": {"last_used": clock()}}
    logs = IntegrationRepository().logs(integration.id)
    assert logs[0].message == f"Order {txn.id}: paying -> paid (bill B000001): paid {txn.total}"
    assert sum(1 for entry in logs if entry.event == "order_push") == 6


def test_running_a_finished_push_again_changes_nothing(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    pusher.advance(txn.id, ALL)
    before = simulator.counters()

    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)

    assert simulator.counters() == before
    assert len(simulator.payments()) == 1


def test_a_transition_from_a_stale_version_is_refused(
    location: Location, integration: Any, menu: Menu, clock: Clock
) -> None:
    repo = TransactionRepository()
    txn = paid_order(location, integration, menu, clock())
    first = repo.transition(txn, S.TABLE_ASSIGNED, now=clock(), detail="worker 1")

    second = repo.transition(txn, S.TABLE_ASSIGNED, now=clock(), detail="worker 2")

    assert first is not None and second is None
    assert history(txn.id) == ["queued", "table_assigned"]


def test_when_the_registers_choice_is_locked_the_least_recently_used_table_is_taken(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    TableLockRepository().claim(
        location.id, PROVIDER, 1, "other", now=clock(), ttl=timedelta(minutes=5)
    )
    usage = {str(t): {"last_used": clock() - timedelta(minutes=t)} for t in range(1, 11)}
    usage["4"] = {"last_used": clock() - timedelta(hours=3)}
    IntegrationRepository().update_settings(integration.id, tables_usage=usage)
    txn = paid_order(location, integration, menu, clock())

    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)

    assert push_of(txn.id).table_number == 4
    assert simulator.payments()[0]["table_number"] == 4


def test_the_fallback_skips_a_table_whose_bill_is_open_on_the_register(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    TableLockRepository().claim(
        location.id, PROVIDER, 1, "other", now=clock(), ttl=timedelta(minutes=5)
    )
    with simulator.client() as client:  # guests at table 2 have an open bill
        client.send_order("dine-in", 2, [OrderLine("P3", 1, Decimal("1.00"))])
    usage = {str(t): {"last_used": clock()} for t in range(3, 11)}
    IntegrationRepository().update_settings(integration.id, tables_usage=usage)
    txn = paid_order(location, integration, menu, clock())

    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)

    # 1 is locked, 2 (never used, so first) has the guests' bill: 3 is next.
    assert push_of(txn.id).table_number == 3
    assert TableLockRepository().get(location.id, PROVIDER, 2).owner is None  # type: ignore[union-attr]


def test_a_table_qr_order_waits_while_its_table_is_locked_then_takes_it(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    locks = TableLockRepository()
    locks.claim(location.id, PROVIDER, 6, "other", now=clock(), ttl=timedelta(minutes=5))
    txn = paid_order(location, integration, menu, clock(), channel="table_qr", table_number=6)

    assert pusher.advance(txn.id, ALL) == Outcome(S.QUEUED, retry_in=1.0)
    assert simulator.counters().get("SendOrder", 0) == 0

    locks.release(location.id, PROVIDER, 6, "other", now=clock())
    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)
    assert simulator.payments()[0]["table_number"] == 6


def test_a_total_mismatch_fails_visibly_and_pays_nothing(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = simulator.catalog()
    product = next(p for p in catalog["products"] if p["id"] == "P1")
    product["price"] = str(Decimal(product["price"]) + Decimal("0.10"))
    simulator.set_catalog(catalog)
    txn = paid_order(location, integration, menu, clock(), products=[("P1", 1, ())])

    with caplog.at_level(logging.CRITICAL, logger="orders.push"):
        assert pusher.advance(txn.id, ALL) == Outcome(S.FAILED)

    push = push_of(txn.id)
    expected = f"Total amount mismatch: register bill {product['price']} vs order {txn.total}"
    assert (push.status, push.err_message, push.err_code) == (
        S.FAILED,
        expected,
        "TOTAL_AMOUNT_MISMATCH",
    )
    assert simulator.payments() == []
    assert simulator.counters().get("PayBill", 0) == 0
    assert TableLockRepository().get(location.id, PROVIDER, 1).owner is None  # type: ignore[union-attr]
    newest = IntegrationRepository().logs(integration.id)[0]
    assert (newest.level, newest.message) == (
        "critical",
        f"Order {txn.id}: order_sent -> failed: {expected}",
    )
    assert [r.levelname for r in caplog.records] == ["CRITICAL"]


def _left_paying(pusher: OrderPusher, txn_id: str, clock: Clock) -> Any:
    """Run until the bill is checked, then take the `paying` lease as a worker would."""
    assert pusher.advance(txn_id, UP_TO_BILL_CHECK) == Outcome(S.BILL_CHECKED)
    txn = TransactionRepository().get(txn_id)
    assert txn is not None
    return TransactionRepository().transition(
        txn,
        S.PAYING,
        now=clock(),
        detail="paying",
        fields={"lease_until": clock() + timedelta(seconds=120)},
    )


def test_a_worker_lost_after_paybill_is_recorded_paid_without_paying_again(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    _left_paying(pusher, txn.id, clock)
    with simulator.client() as client:  # the lost worker's PayBill reached the register
        client.pay_bill(txn.id, 1, "PT3", txn.total)
    clock.advance(121)

    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)

    assert simulator.counters()["PayBill"] == 1
    assert len(simulator.payments()) == 1
    assert push_of(txn.id).history[-1]["detail"] == "the register already took this payment"


def test_a_worker_lost_before_paybill_pays_once_after_the_lease(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    _left_paying(pusher, txn.id, clock)

    assert pusher.advance(txn.id, ALL) == Outcome(S.PAYING, retry_in=120.1)
    assert simulator.counters().get("PayBill", 0) == 0

    clock.advance(121)
    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)
    assert [p["reference"] for p in simulator.payments()] == [txn.id]


def test_an_unreachable_register_keeps_the_order_and_disconnects_the_location(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    simulator.set_faults(offline=True)

    assert pusher.advance(txn.id, ALL) == Outcome(S.NEED_REQUEUE)

    stored = TransactionRepository().get(txn.id)
    assert stored is not None and stored.need_requeue is True
    assert stored.push is not None and stored.push.resume_status == S.QUEUED
    assert "The register could not be reached at that address" in (stored.push.err_message or "")
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None and found.connection["status"] == "disconnected"
    loc = LocationRepository().get(location.id)
    assert loc is not None and loc.pos_connection[PROVIDER]["status"] == "disconnected"

    simulator.set_faults(offline=False)
    resumed = pusher.resume(stored, detail="connection restored")
    assert resumed is not None and resumed.need_requeue is False
    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)
    assert len(simulator.payments()) == 1


def test_a_transient_error_during_sendorder_is_retried_without_sending_twice(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    simulator.set_faults(endpoint_status={"endpoint": "SendOrder", "status": 503, "count": 1})

    assert pusher.advance(txn.id, ALL) == Outcome(S.SENDING, retry_in=1.0)
    push = push_of(txn.id)
    assert (push.errors, push.err_code) == (1, "SIMULATED_ERROR")

    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)
    assert simulator.counters()["SendOrder"] == 2
    assert [b["references"] for b in simulator.bills()] == [[txn.id]]
    assert len(simulator.payments()) == 1


def test_transient_errors_beyond_the_maximum_keep_the_order_for_requeue(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    simulator.set_faults(endpoint_status={"endpoint": "GetBill", "status": 502, "count": None})

    outcomes = [pusher.advance(txn.id, ALL) for _ in range(3)]

    assert outcomes == [
        Outcome(S.ORDER_SENT, retry_in=1.0),
        Outcome(S.ORDER_SENT, retry_in=2.0),
        Outcome(S.NEED_REQUEUE),
    ]
    push = push_of(txn.id)
    assert push.resume_status == S.ORDER_SENT
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None and found.connection["status"] == "disconnected"


def test_a_permanent_register_error_fails_the_order_and_a_retry_resumes_it(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    simulator.set_faults(
        endpoint_status={"endpoint": "PayBill", "status": 422, "code": "UNKNOWN_PAYMENT_TYPE"}
    )

    assert pusher.advance(txn.id, ALL) == Outcome(S.FAILED)
    push = push_of(txn.id)
    assert push.err_code == "UNKNOWN_PAYMENT_TYPE"
    assert push.err_message == (
        "Kassanet PayBill failed with HTTP 422 (UNKNOWN_PAYMENT_TYPE: simulated HTTP 422)"
    )
    assert push.history[-1]["code"] == "UNKNOWN_PAYMENT_TYPE"
    assert simulator.payments() == []

    failed = TransactionRepository().get(txn.id)
    assert failed is not None
    assert pusher.resume(failed, detail="retried by hand") is not None
    assert pusher.advance(txn.id, ALL) == Outcome(S.PAID)
    assert len(simulator.payments()) == 1
