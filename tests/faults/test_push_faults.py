"""Fault injection on the order push: a slow, flapping, offline, erroring or clock-skewed
register, and workers killed mid-push; real Celery workers (default, payments-medium) and
beat, real MongoDB and Redis, the simulator over HTTP. Timings are compressed through the
workers' settings (client timeout 1 s, beat every second, stall after 2 s).

Every scenario ends with the invariants of tests/faults/support.py (docs/faults.md).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo.database import Database

from integrations.repository import Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from orders import services
from orders.repository import TransactionRepository
from tests.e2e_support import wait_for
from tests.faults.support import (
    assert_no_secrets,
    assert_no_table_lock_held,
    assert_orders_settled,
    paid_orders,
    push_statuses,
    secret_simulator,
    shared_namespace,
    wait_settled,
)
from tests.orders.conftest import PROVIDER, TABLES, Menu, connect_integration, import_menu
from tests.orders.e2e_stack import CeleryStack, celery_stack
from upvendo.mongo import get_client

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DB_NAME = f"test_faults_push_{uuid.uuid4().hex[:8]}"
REDIS_PREFIX = f"test:faults-push-{uuid.uuid4().hex[:8]}:"
LOCK_TTL = timedelta(seconds=300)
WORKER_SETTINGS = {
    "MONGODB_DB": DB_NAME,
    "REDIS_KEY_PREFIX": REDIS_PREFIX,
    "POS_TIMEOUT_SECONDS": "1",
    "ORDER_PUSH_MAX_RETRIES": "8",
    "ORDER_PUSH_RETRY_BASE_SECONDS": "0.1",
    "ORDER_PUSH_RETRY_MAX_SECONDS": "0.5",
    "ORDER_PUSH_CLIENT_ATTEMPTS": "3",
    "ORDER_PUSH_CLIENT_RETRY_DELAY": "0.02",
    "ORDER_PUSH_CLIENT_RETRY_BUDGET": "3",
    "ORDER_PUSH_TABLE_RETRY_SECONDS": "0.1",
    "ORDER_PUSH_LEASE_SECONDS": "3",
    "ORDER_PUSH_STALL_SECONDS": "2",
    "ORDER_PUSH_BEAT_SECONDS": "1",
    "POS_RETEST_MAX_INTERVAL_SECONDS": "2",  # the re-test backoff, short here
    "ORDER_TABLE_LOCK_SECONDS": str(int(LOCK_TTL.total_seconds())),
}


@pytest.fixture(scope="module")
def stack() -> Iterator[CeleryStack]:
    with celery_stack(WORKER_SETTINGS) as running:
        yield running
    get_client().drop_database(DB_NAME)


mongo_db, redis_namespace = shared_namespace(DB_NAME, REDIS_PREFIX)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with secret_simulator(products=30, tables=len(TABLES), encrypt=True) as handle:
        yield handle


@pytest.fixture
def shop(
    stack: CeleryStack, mongo_db: Database[dict[str, Any]], sim: SimulatorHandle, location: Location
) -> tuple[Location, Integration, Menu]:
    sim.reset()
    integration = connect_integration(location, sim)
    return location, integration, import_menu(mongo_db, location.id, sim.catalog())


def logs(stack: CeleryStack) -> str:
    """Every worker's and beat's whole log."""
    processes = [*stack.workers, *([stack.beat] if stack.beat else [])]
    return "\n".join(p.log() for p in processes)


def check_invariants(
    sim: SimulatorHandle,
    ids: list[str],
    location: Location,
    stack: CeleryStack,
    captured: pytest.LogCaptureFixture,
    *extra_logs: str,
) -> None:
    statuses = assert_orders_settled(sim, ids)
    assert statuses["paid"] == len(ids), statuses
    assert_no_table_lock_held(location.id, PROVIDER, ttl=LOCK_TTL)
    assert_no_secrets(sim, logs(stack), captured.text, *extra_logs)


# The register rounds the skew it measured (400 s, give or take the request's own second).
SKEWED = re.compile(
    r"Kassanet \w+ failed with HTTP 401 \(CLOCK_SKEW: the Date header is (399|400|401) s "
    r"away from the register clock\)"
)


def connection_status(integration: Integration) -> str:
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None
    return str(found.connection["status"])


def test_a_register_as_slow_as_the_client_timeout_pays_every_order_once(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, _integration, menu = shop
    sim.set_faults(latency_ms=900)  # the workers' client gives up after 1 s

    ids = paid_orders(location, menu, 4)
    # Some calls may time out after the register acted (outcome unknown): those orders wait
    # with need_requeue until beat finds the register answering again.
    wait_settled(ids, timeout=60, logs=stack.logs)
    sim.set_faults(latency_ms=0)

    wait_settled(ids, timeout=60, allowed=("paid",), logs=stack.logs)
    check_invariants(sim, ids, location, stack, captured)


def test_a_flapping_register_pays_every_order_once_when_it_settles(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, _integration, menu = shop
    stop = threading.Event()

    def flap() -> None:
        offline = False
        while not stop.wait(0.3):
            offline = not offline
            sim.set_faults(offline=offline)

    flapper = threading.Thread(target=flap)
    flapper.start()
    try:
        ids = paid_orders(location, menu, 8)
        wait_for(
            lambda: sim.counters().get("SendOrder", 0) >= 4,
            timeout=30,
            interval=0.1,
            what="the pushes to reach the flapping register",
        )
    finally:
        stop.set()
        flapper.join()
    sim.set_faults(offline=False)

    wait_settled(ids, timeout=60, allowed=("paid",), logs=stack.logs)
    check_invariants(sim, ids, location, stack, captured)


def test_orders_wait_through_a_long_outage_and_are_paid_once_after_it(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, integration, menu = shop
    sim.set_faults(offline=True)

    ids = paid_orders(location, menu, 4)
    wait_settled(ids, timeout=30, allowed=("need_requeue",), logs=stack.logs)
    assert connection_status(integration) == "disconnected"
    tests_before = sim.counters().get("test", 0)
    # The outage lasts: beat re-tests the register every second (every minute in
    # production); three failed re-tests change nothing.
    wait_for(lambda: sim.counters().get("test", 0) >= tests_before + 3, timeout=30)
    assert set(push_statuses(ids).values()) == {"need_requeue"}
    assert sim.payments() == []
    sim.set_faults(offline=False)

    wait_settled(ids, timeout=30, allowed=("paid",), logs=stack.logs)
    assert connection_status(integration) == "connected"
    check_invariants(sim, ids, location, stack, captured)


def test_500s_with_garbage_bodies_are_retried_and_every_order_is_paid_once(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, _integration, menu = shop
    sim.set_faults(
        endpoint_status=[
            {"endpoint": "SendOrder", "status": 500, "count": 3, "body": "<html>Oops</html>"},
            {"endpoint": "GetBill", "status": 503, "count": 2, "body": "\x00\xff not json"},
            {"endpoint": "PayBill", "status": 502, "count": 3, "body": "Bad gateway"},
        ]
    )

    ids = paid_orders(location, menu, 3)

    wait_settled(ids, timeout=60, allowed=("paid",), logs=stack.logs)
    check_invariants(sim, ids, location, stack, captured)


def test_a_garbage_success_answer_fails_the_order_visibly_and_a_retry_pays_it_once(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, _integration, menu = shop
    sim.set_faults(
        endpoint_status={"endpoint": "GetBill", "status": 200, "count": 1, "body": "not base64!"}
    )
    [txn_id] = paid_orders(location, menu, 1)

    wait_settled([txn_id], timeout=30, allowed=("failed",), logs=stack.logs)
    txn = TransactionRepository().get(txn_id)
    assert txn is not None and txn.push is not None
    assert txn.push.err_message is not None
    assert txn.push.err_message.startswith("Invalid base64 input")
    assert_orders_settled(sim, [txn_id])  # failed with its reason, nothing paid

    services.retry_pos(txn)

    wait_settled([txn_id], timeout=30, allowed=("paid",), logs=stack.logs)
    check_invariants(sim, [txn_id], location, stack, captured)


def test_a_register_clock_skewed_beyond_300_s_fails_orders_visibly_until_it_is_back(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, _integration, menu = shop
    sim.set_clock_skew(400)
    ids = paid_orders(location, menu, 2)

    wait_settled(ids, timeout=30, allowed=("failed",), logs=stack.logs)
    repo = TransactionRepository()
    for txn_id in ids:
        txn = repo.get(txn_id)
        assert txn is not None and txn.push is not None
        assert txn.push.err_code == "CLOCK_SKEW"
        assert SKEWED.fullmatch(txn.push.err_message or ""), txn.push.err_message
    assert_orders_settled(sim, ids)
    sim.set_clock_skew(0)

    for txn_id in ids:
        txn = repo.get(txn_id)
        assert txn is not None
        services.retry_pos(txn)

    wait_settled(ids, timeout=30, allowed=("paid",), logs=stack.logs)
    check_invariants(sim, ids, location, stack, captured)


def test_workers_killed_while_sending_and_paying_pay_every_order_once(
    shop: Any, sim: SimulatorHandle, stack: CeleryStack, captured: pytest.LogCaptureFixture
) -> None:
    location, _integration, menu = shop
    sim.set_faults(latency_ms=150)
    ids = paid_orders(location, menu, 8)
    wait_for(
        lambda: {"sending", "paying"} & set(push_statuses(ids).values()),
        timeout=30,
        interval=0.02,
        what="a push on the wire (SendOrder or PayBill)",
    )

    before_kill = logs(stack)
    stack.kill_workers()  # SIGKILL: the calls in flight have an unknown outcome
    assert set(push_statuses(ids).values()) != {"paid"}
    stack.start_workers()

    wait_settled(ids, timeout=60, allowed=("paid",), logs=stack.logs)
    check_invariants(sim, ids, location, stack, captured, before_kill)
