"""End to end: orders go through the API, REAL Celery workers (queues default and
payments-medium) and a REAL celery beat (DatabaseScheduler, every second here), MongoDB,
Redis and the simulator over HTTP; payments are counted on the simulator.

The workers need a fixed database and Redis prefix, so this module shares one of each across
its tests (each test has its own location, integration and a reset simulator).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from integrations.repository import Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location, LocationRepository
from orders.locks import TableLockRepository
from orders.repository import TransactionRepository
from tests.e2e_support import wait_for
from tests.orders.conftest import PROVIDER, TABLES, Menu, connect_integration, import_menu
from tests.orders.e2e_stack import CeleryStack, celery_stack
from upvendo.mongo import ensure_indexes, get_client, get_db

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DB_NAME = f"test_orders_e2e_{uuid.uuid4().hex[:8]}"
REDIS_PREFIX = f"test:orders-e2e-{uuid.uuid4().hex[:8]}:"
WORKER_SETTINGS = {
    "MONGODB_DB": DB_NAME,
    "REDIS_KEY_PREFIX": REDIS_PREFIX,
    "POS_TIMEOUT_SECONDS": "3",
    "ORDER_PUSH_MAX_RETRIES": "8",
    "ORDER_PUSH_RETRY_BASE_SECONDS": "0.1",
    "ORDER_PUSH_RETRY_MAX_SECONDS": "0.5",
    "ORDER_PUSH_CLIENT_ATTEMPTS": "3",
    "ORDER_PUSH_CLIENT_RETRY_DELAY": "0.02",
    "ORDER_PUSH_CLIENT_RETRY_BUDGET": "2",
    "ORDER_PUSH_TABLE_RETRY_SECONDS": "0.1",
    "ORDER_PUSH_LEASE_SECONDS": "4",
    "ORDER_PUSH_STALL_SECONDS": "2",
    "ORDER_PUSH_BEAT_SECONDS": "1",
    "POS_RETEST_MAX_INTERVAL_SECONDS": "2",  # the re-test backoff, short here
}


@pytest.fixture(scope="module")
def stack() -> Iterator[CeleryStack]:
    with celery_stack(WORKER_SETTINGS) as running:
        yield running
    get_client().drop_database(DB_NAME)


@pytest.fixture(autouse=True)
def mongo_db(settings: Any) -> Database[dict[str, Any]]:
    """Overrides the per-test database: the workers read this module's database."""
    settings.MONGODB_DB = DB_NAME
    db = get_db()
    ensure_indexes(db)
    return db


@pytest.fixture(autouse=True)
def redis_namespace(settings: Any) -> str:
    settings.REDIS_KEY_PREFIX = REDIS_PREFIX
    return REDIS_PREFIX


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with start_simulator(products=30, tables=len(TABLES), encrypt=True) as sim:
        yield sim


@pytest.fixture
def shop(
    stack: CeleryStack,
    mongo_db: Database[dict[str, Any]],
    simulator: SimulatorHandle,
    api: APIClient,
    location: Location,
) -> Iterator[tuple[Location, Integration, Menu]]:
    simulator.reset()
    simulator.set_catalog(_original_catalog)
    integration = connect_integration(location, simulator)
    menu = import_menu(mongo_db, location.id, simulator.catalog())
    yield location, integration, menu


_original_catalog: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _remember_catalog(simulator: SimulatorHandle) -> None:
    _original_catalog.update(simulator.catalog())


def required_picks(product_id: str) -> list[str]:
    """The register's modifier ids an order of `product_id` must choose (each group's `min`)."""
    product = next(p for p in _original_catalog["products"] if p["id"] == product_id)
    return [
        modifier["id"]
        for group in product["modifier_groups"]
        for modifier in group["modifiers"][: group["min"]]
    ]


def order(
    api: APIClient,
    location: Location,
    menu: Menu,
    product: str = "P1",
    qty: int = 1,
    modifiers: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A kiosk order of `qty` x `product` with `modifiers` (register ids, one per unit each),
    or, when None, with the options its required modifier groups need."""
    chosen = required_picks(product) if modifiers is None else modifiers
    line = {
        "item_id": menu.items[product],
        "quantity": qty,
        "modifiers": [{"modifier_id": menu.modifiers[m], "quantity": 1} for m in chosen],
    }
    response = api.post(
        f"/api/backoffice/locations/{location.id}/transactions",
        {"channel": "kiosk", "service_type": "takeaway", "lines": [line]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def confirm(api: APIClient, txn: dict[str, Any], reference: str | None = None) -> Any:
    return api.post(
        f"/api/backoffice/transactions/{txn['id']}/payment-confirmed",
        {
            "amount": txn["total"],
            "currency": txn["currency"],
            "payment_provider": "stripe",
            "payment_reference": reference or f"pi_{txn['id']}",
        },
        format="json",
    )


def pos_statuses(ids: list[str]) -> Counter[str]:
    repo = TransactionRepository()
    return Counter(str(repo.get(i).push.status) for i in ids)  # type: ignore[union-attr]


def wait_all(ids: list[str], status: str, stack: CeleryStack, timeout: float = 60.0) -> None:
    try:
        wait_for(
            lambda: pos_statuses(ids)[status] == len(ids),
            timeout=timeout,
            interval=0.2,
            what=f"every order {status}",
        )
    except AssertionError:
        raise AssertionError(f"{pos_statuses(ids)}\n{stack.logs()}") from None


def assert_paid_exactly_once(simulator: SimulatorHandle, ids: list[str]) -> None:
    payments = Counter(p["reference"] for p in simulator.payments())
    assert payments == Counter(dict.fromkeys(ids, 1))
    for bill in simulator.bills():
        assert len(bill["references"]) == 1, bill  # no bill mixes two orders


def assert_no_table_shared(location: Location) -> None:
    """Replay every table's lock events (in write order): a claim by a new owner only
    happens after the previous owner released the table."""
    for lock in TableLockRepository().for_location(location.id, PROVIDER):
        holder = None
        for event in lock.events:
            if event["event"] == "claim":
                assert holder in (None, event["owner"]), (lock.table_number, lock.events)
                holder = event["owner"]
            elif event["owner"] == holder:
                holder = None


def test_a_paid_order_reaches_the_register_as_a_paid_bill(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, _integration, menu = shop
    txn = order(api, location, menu, "P2", 2)

    response = confirm(payments_api, txn)

    assert response.status_code == 200
    wait_all([txn["id"]], "paid", stack, timeout=20)
    assert_paid_exactly_once(simulator, [txn["id"]])
    assert simulator.payments()[0]["amount"] == str(menu.prices["P2"] * 2)
    body = api.get(f"/api/backoffice/transactions/{txn['id']}").json()
    push = body["external_data"][PROVIDER]
    assert [h["to"] for h in push["history"]] == [
        "queued",
        "table_assigned",
        "sending",
        "order_sent",
        "bill_checked",
        "paying",
        "paid",
    ]
    assert (push["status"], push["table_number"], push["bill_id"], push["errMessage"]) == (
        "paid",
        1,
        "B000001",
        None,
    )


@pytest.mark.parametrize(
    ("product", "qty", "modifiers", "total"),
    [
        ("P2", 2, ["M4-2"], "43.80"),  # 2 x (20.40 + 1.50)
        ("P8", 3, ["M5-1", "M6-1", "M6-2"], "24.00"),  # 3 x (2.90 + 2.30 + 2.80 + 0.00)
        ("P6", 2, ["M5-2"], "10.60"),  # 2 x (4.30 + 1.00)
    ],
)
def test_orders_of_several_units_with_priced_modifiers_end_paid(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
    product: str,
    qty: int,
    modifiers: list[str],
    total: str,
) -> None:
    """The bug found against an independent register: a modifier is priced per unit."""
    location, _integration, menu = shop
    txn = order(api, location, menu, product, qty, modifiers)
    assert txn["total"] == total

    assert confirm(payments_api, txn).status_code == 200
    wait_all([txn["id"]], "paid", stack, timeout=20)

    assert_paid_exactly_once(simulator, [txn["id"]])
    assert simulator.payments()[0]["amount"] == total
    (bill,) = simulator.bills()
    assert bill["total"] == total
    (line,) = bill["lines"]
    assert (line["product_id"], line["quantity"], line["service_type"]) == (
        product,
        qty,
        "takeaway",
    )
    assert [(m["modifier_id"], m["quantity"]) for m in line["modifiers"]] == [
        (m, 1) for m in modifiers
    ]


def test_fifty_concurrent_orders_on_ten_tables_are_each_paid_once_on_their_own_table(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, _integration, menu = shop
    txns = [order(api, location, menu, f"P{1 + i % 9}") for i in range(50)]

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda t: confirm(payments_api, t).status_code, txns))

    assert codes == [200] * 50
    ids = [t["id"] for t in txns]
    wait_all(ids, "paid", stack, timeout=90)
    assert_paid_exactly_once(simulator, ids)
    assert_no_table_shared(location)
    assert {p["table_number"] for p in simulator.payments()} <= set(TABLES)


def test_orders_queued_while_the_register_is_offline_are_paid_once_when_it_is_back(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, integration, menu = shop
    simulator.set_faults(offline=True)
    txns = [order(api, location, menu, "P3") for _ in range(5)]
    for txn in txns:
        assert confirm(payments_api, txn).status_code == 200
    ids = [t["id"] for t in txns]
    wait_all(ids, "need_requeue", stack, timeout=30)
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None and found.connection["status"] == "disconnected"
    stored_location = LocationRepository().get(location.id)
    assert stored_location is not None
    assert stored_location.pos_connection[PROVIDER]["status"] == "disconnected"

    simulator.set_faults(offline=False)  # nobody clicks Test: beat re-tests the connection

    wait_all(ids, "paid", stack, timeout=30)
    assert_paid_exactly_once(simulator, ids)
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None and found.connection["status"] == "connected"
    assert all(not TransactionRepository().get(i).need_requeue for i in ids)  # type: ignore[union-attr]


def test_with_thirty_percent_transient_failures_every_order_is_paid_once(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, _integration, menu = shop
    simulator.set_faults(failure_rate=0.3)
    txns = [order(api, location, menu, f"P{1 + i % 5}") for i in range(20)]
    for txn in txns:
        assert confirm(payments_api, txn).status_code == 200

    ids = [t["id"] for t in txns]
    wait_all(ids, "paid", stack, timeout=90)
    assert_paid_exactly_once(simulator, ids)
    assert_no_table_shared(location)


def test_workers_killed_during_pushes_and_restarted_pay_every_order_once(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, _integration, menu = shop
    simulator.set_faults(latency_ms=40)
    txns = [order(api, location, menu, f"P{1 + i % 5}") for i in range(20)]
    for txn in txns:
        assert confirm(payments_api, txn).status_code == 200
    ids = [t["id"] for t in txns]
    wait_for(
        lambda: 2 <= pos_statuses(ids)["paid"] < len(ids),
        timeout=30,
        interval=0.02,
        what="some orders paid, others in flight",
    )

    stack.kill_workers()  # SIGKILL: tasks in flight are lost until Redis' visibility timeout
    in_flight = sum(n for s, n in pos_statuses(ids).items() if s != "paid")
    stack.start_workers()

    assert in_flight > 0
    wait_all(ids, "paid", stack, timeout=90)
    assert_paid_exactly_once(simulator, ids)
    assert_no_table_shared(location)


def test_a_total_mismatch_ends_in_a_visible_error_and_no_payment(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, _integration, menu = shop
    catalog = simulator.catalog()
    product = next(p for p in catalog["products"] if p["id"] == "P4")
    product["price"] = str(Decimal(product["price"]) + Decimal("1.00"))
    simulator.set_catalog(catalog)
    txn = order(api, location, menu, "P4")

    assert confirm(payments_api, txn).status_code == 200

    wait_all([txn["id"]], "failed", stack, timeout=20)
    push = api.get(f"/api/backoffice/transactions/{txn['id']}").json()["external_data"][PROVIDER]
    assert push["errMessage"] == (
        f"Total amount mismatch: register bill {product['price']} vs order {txn['total']}"
    )
    assert simulator.payments() == []
    assert (
        api.get(f"/api/backoffice/locations/{location.id}/transactions?pos_status=failed").json()[
            "count"
        ]
        == 1
    )


def test_a_repeated_payment_confirmation_pushes_once(
    shop: Any,
    api: APIClient,
    payments_api: APIClient,
    simulator: SimulatorHandle,
    stack: CeleryStack,
) -> None:
    location, _integration, menu = shop
    txn = order(api, location, menu, "P5")

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: confirm(payments_api, txn).status_code, range(4)))
    wait_all([txn["id"]], "paid", stack, timeout=20)
    again = confirm(payments_api, txn)
    other = confirm(payments_api, txn, reference="pi_someone_else")

    assert codes == [200] * 4
    assert (again.status_code, other.status_code) == (200, 409)
    assert_paid_exactly_once(simulator, [txn["id"]])
    assert simulator.counters()["SendOrder"] == 1
    assert simulator.counters()["PayBill"] == 1
