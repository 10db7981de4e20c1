"""Benchmark: 500 orders from payment-confirmed to a paid bill on the register.

Standalone: starts ``python -m kassanet.simulator`` (zero latency, encryption on, 50 tables),
two Celery workers (``default`` and ``payments-medium``) and celery beat in subprocesses, on
the MongoDB and Redis named by MONGODB_URI / REDIS_URL (``scripts/services.py start`` prints
them), in a database and broker key prefix of its own. Beat runs as in production (schedules
written by ``manage.py ensure_schedules``, DatabaseScheduler), every second, so a push whose
Celery message was lost (a countdown message held by a worker is lost when the worker is
restarted with TERM, kombu issue #533) is resumed by ResumeStalledOrderPushesJob after
STALL_SECONDS. Two runs of ORDERS orders:

- paced: confirmations at a steady rate (below capacity): latency p50 / p95 / p99, from the
  confirm call to the `paid` transition recorded on the order;
- burst: BURST confirmations at once: throughput (orders paid per second).

After each run every order must be `paid` and the simulator must hold exactly one payment
for each of them (and none for anything else); otherwise the benchmark exits with status 1
naming the orders.

    set -a; . /tmp/services.env; set +a
    .venv/bin/python -m benchmarks.bench_order_push [--orders 500] [--rate 20] [--write]

``--write`` updates the ``<!-- bench:order-push -->`` section of docs/performance.md.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

MARKER = "order-push"
TABLES = 50
BEAT_SECONDS = 1
# Above the longest wait of a hop in the burst's queues (a few seconds), so a push that is
# merely queued behind others is not resumed twice.
STALL_SECONDS = 10
WORKER_ENV = {
    "DJANGO_SETTINGS_MODULE": "upvendo.settings",
    "DJANGO_ENV": "test",
    "SERVICES_ENV_FILE": "/dev/null",
    "MONGODB_DB": f"bench_orders_{uuid.uuid4().hex[:8]}",
    "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
    "ORDER_PUSH_RETRY_BASE_SECONDS": "0.2",
    "ORDER_PUSH_BEAT_SECONDS": str(BEAT_SECONDS),
    "ORDER_PUSH_STALL_SECONDS": str(STALL_SECONDS),
}
os.environ.update(WORKER_ENV)

import django  # noqa: E402  (settings come from the environment above)

django.setup()

from bson import Decimal128, ObjectId  # noqa: E402

from benchmarks._common import (  # noqa: E402
    KEY,
    TOKEN,
    machine,
    markdown_table,
    parser,
    percentiles,
    simulator,
    today,
    write_section,
)
from integrations.credentials import Credentials  # noqa: E402
from integrations.repository import CONNECTED, IntegrationRepository  # noqa: E402
from kassanet.testing import SimulatorControl  # noqa: E402
from locations.repository import Location, LocationRepository  # noqa: E402
from orders import services  # noqa: E402
from orders.pricing import LineRequest  # noqa: E402
from orders.repository import TransactionRepository  # noqa: E402
from tests.orders.e2e_stack import CeleryStack, celery_stack  # noqa: E402
from upvendo.mongo import ensure_indexes, get_client, get_db  # noqa: E402


class BenchmarkError(Exception):
    """The push did not do its job: an order not paid, or not paid exactly once."""


def setup_shop(base_url: str, register: SimulatorControl) -> tuple[Location, list[str]]:
    """A location, its connected integration, and items P1..P5 at the register's prices (so
    every bill total matches)."""
    db = get_db()
    ensure_indexes(db)
    location = LocationRepository().create(
        vendor_id="bench", name="Bench", timezone="Europe/Brussels", currency="EUR"
    )
    repo = IntegrationRepository()
    integration = repo.upsert(
        location.id,
        "hendrickx",
        Credentials(base_url, KEY, TOKEN, True),
        {"tables": list(range(1, TABLES + 1)), "tables_usage": {}, "payment_type_id": "PT3"},
    )
    repo.set_connection(integration.id, CONNECTED, "Connected.")
    prices = {p["id"]: p["price"] for p in register.catalog()["products"]}
    item_ids = []
    for number in range(1, 6):
        oid = ObjectId()
        item_ids.append(str(oid))
        db.items.insert_one(
            {
                "_id": oid,
                "location_id": location.id,
                "imported_by": "hendrickx",
                "name": f"P{number}",
                "price": Decimal128(prices[f"P{number}"]),
                "modifier_group_ids": [],
                "external_ids": {"hendrickx": f"P{number}"},
            }
        )
    return location, item_ids


def wait_ended(ids: list[str], timeout: float) -> None:
    """Until every push is paid, or one ended otherwise, or `timeout` passed."""
    oids = [ObjectId(i) for i in ids]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = Counter(
            doc["pos_status"]
            for doc in get_db().transactions.find({"_id": {"$in": oids}}, {"pos_status": 1})
        )
        if statuses["paid"] == len(ids) or statuses["failed"] or statuses["need_requeue"]:
            return
        time.sleep(0.2)


def assert_paid_once(ids: list[str], register: SimulatorControl) -> None:
    """Every order `paid`, and exactly one register payment per order, none for others."""
    repo = TransactionRepository()
    problems = []
    for transaction_id in ids:
        found = repo.get(transaction_id)
        push = found.push if found else None
        if push is None:
            problems.append(f"order {transaction_id} was not pushed")
        elif push.status != "paid":
            problems.append(f"order {transaction_id} ended {push.status}: {push.err_message}")
    payments = Counter(p["reference"] for p in register.payments())
    problems += [
        f"order {transaction_id} was paid {payments[transaction_id]} times on the register"
        for transaction_id in ids
        if payments[transaction_id] != 1
    ]
    problems += [f"the register took a payment for {ref}" for ref in set(payments) - set(ids)]
    if problems:
        shown = "\n".join(problems[:20])
        raise BenchmarkError(f"{len(problems)} problem(s) among {len(ids)} orders:\n{shown}")


def run(
    location: Location,
    item_ids: list[str],
    register: SimulatorControl,
    orders: int,
    rate: float | None,
) -> dict[str, Any]:
    txns = [
        services.create_transaction(
            location,
            channel="kiosk",
            service_type="takeaway",
            table_number=None,
            lines=[LineRequest(item_ids[i % len(item_ids)], 1 + i % 3)],
        )
        for i in range(orders)
    ]
    started: dict[str, datetime] = {}

    def confirm(txn: Any) -> None:
        started[txn.id] = datetime.now(UTC)
        services.confirm_payment(
            txn,
            amount=txn.total,
            currency=txn.currency,
            payment_provider="bench",
            payment_reference=f"pi_{txn.id}",
        )

    t0 = time.monotonic()
    if rate:
        for index, txn in enumerate(txns):
            delay = t0 + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            confirm(txn)
    else:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(confirm, txns))
    ids = [t.id for t in txns]
    wait_ended(ids, timeout=600)
    assert_paid_once(ids, register)
    repo = TransactionRepository()
    latencies, finished = [], []
    for transaction_id in ids:
        found = repo.get(transaction_id)
        assert found is not None and found.push is not None
        paid_at = found.push.history[-1]["at"]
        latencies.append((paid_at - started[transaction_id]).total_seconds())
        finished.append(paid_at)
    wall = (max(finished) - min(started.values())).total_seconds()
    return {
        "orders": orders,
        **percentiles(latencies),
        "wall": wall,
        "throughput": orders / wall,
    }


def resumed_by_beat(stack: CeleryStack) -> int:
    """Pushes ResumeStalledOrderPushesJob re-enqueued, from the workers' logs."""
    text = "\n".join(worker.log() for worker in stack.workers)
    return sum(int(n) for n in re.findall(r"Resumed (\d+) stalled order push", text))


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--orders", type=int, default=500)
    options.add_argument(
        "--rate", type=float, default=20.0, help="paced run: confirmations per second"
    )
    options.add_argument("--burst", type=int, default=200, help="orders in the burst run")
    options.add_argument("--default-concurrency", type=int, default=3)
    options.add_argument("--payments-concurrency", type=int, default=2)
    args = options.parse_args()
    queues = (
        ("default", args.default_concurrency),
        ("payments-medium", args.payments_concurrency),
    )
    try:
        with (
            simulator(50, tables=TABLES) as sim,
            celery_stack(WORKER_ENV, queues) as stack,
        ):
            register = SimulatorControl(sim.control_url)
            location, item_ids = setup_shop(sim.base_url, register)
            try:
                paced = run(location, item_ids, register, args.orders, args.rate)
                register.reset()
                burst = run(location, item_ids, register, args.burst, None)
            except BenchmarkError as error:
                print(f"{error}\n{stack.logs()}", file=sys.stderr)
                print(f"bench_order_push FAILED: {str(error).splitlines()[0]}", file=sys.stderr)
                return 1
            resumed = resumed_by_beat(stack)
    finally:
        get_client().drop_database(WORKER_ENV["MONGODB_DB"])
    rows = [
        ("orders in the paced run", f"{args.orders}"),
        (f"paced at {args.rate:g}/s: latency p50", f"{paced['p50'] * 1000:.0f} ms"),
        (f"paced at {args.rate:g}/s: latency p95", f"{paced['p95'] * 1000:.0f} ms"),
        (f"paced at {args.rate:g}/s: latency p99", f"{paced['p99'] * 1000:.0f} ms"),
        (f"paced at {args.rate:g}/s: latency max", f"{paced['max'] * 1000:.0f} ms"),
        (f"burst ({args.burst} at once): throughput", f"{burst['throughput']:.1f} orders/s"),
        ("burst: latency p50 / p99", f"{burst['p50']:.2f} s / {burst['p99']:.2f} s"),
        (
            "every order paid exactly once on the register",
            f"yes ({args.orders + args.burst} orders, {args.orders + args.burst} payments)",
        ),
        (f"pushes resumed by beat (stalled > {STALL_SECONDS} s)", f"{resumed}"),
        (
            "workers",
            f"default x{args.default_concurrency}, payments-medium x{args.payments_concurrency} "
            f"(prefork), beat every {BEAT_SECONDS} s",
        ),
        ("machine", machine()),
    ]
    section = (
        f"### Order push: payment-confirmed to paid bill ({args.orders} orders)\n\n"
        f"Measured with `.venv/bin/python -m benchmarks.bench_order_push --write` on {today()}: "
        f"simulator in a subprocess at zero latency, encryption on, {TABLES} tables; 4 register "
        "calls, 3 task hops and ~12 MongoDB writes per order; celery beat resumes pushes "
        f"stalled for {STALL_SECONDS} s. Latency is from the confirm call to the `paid` "
        "transition stored on the order. Every order is checked paid exactly once on the "
        "register. Targets: p50 <= 150 ms, p99 <= 1 s.\n\n" + markdown_table(rows)
    )
    print(section)
    if args.write:
        write_section(MARKER, section)
    if args.json:
        args.json.write_text(json.dumps({"paced": paced, "burst": burst, "resumed": resumed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
