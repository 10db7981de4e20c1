"""Benchmark: 500 orders from payment-confirmed to a paid bill on the register.

Standalone: starts ``python -m kassanet.simulator`` (zero latency, encryption on, 50 tables)
and two Celery workers (``default`` and ``payments-medium``) in subprocesses, on the MongoDB
and Redis named by MONGODB_URI / REDIS_URL (``scripts/services.py start`` prints them), in a
database and broker key prefix of its own. Two runs of ORDERS orders:

- paced: confirmations at a steady rate (below capacity): latency p50 / p95 / p99, from the
  confirm call to the `paid` transition recorded on the order;
- burst: BURST confirmations at once: throughput (orders paid per second).

    set -a; . /tmp/services.env; set +a
    .venv/bin/python -m benchmarks.bench_order_push [--orders 500] [--rate 20] [--write]

``--write`` updates the ``<!-- bench:order-push -->`` section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:order-push -->", "<!-- /bench:order-push -->"
KEY, TOKEN = "bench-signature-key", "bench-encryption-token"
TABLES = 50
LOG_DIR = Path(tempfile.mkdtemp(prefix="bench-order-push-"))
NO_NAGLE_SIMULATOR = (
    "import sys; from kassanet.simulator import _server; "
    "_server._RequestHandler.disable_nagle_algorithm = True; "
    "from kassanet.simulator.__main__ import main; sys.exit(main(sys.argv[1:]))"
)
DB_NAME = f"bench_orders_{uuid.uuid4().hex[:8]}"
BROKER_PREFIX = f"bench-orders-{uuid.uuid4().hex[:8]}:"
WORKER_ENV = {
    "DJANGO_SETTINGS_MODULE": "upvendo.settings",
    "DJANGO_ENV": "test",
    "SERVICES_ENV_FILE": "/dev/null",
    "MONGODB_DB": DB_NAME,
    "REDIS_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
    "CELERY_KEY_PREFIX": BROKER_PREFIX,
    "ORDER_PUSH_TABLE_RETRY_SECONDS": "0.05",
    "ORDER_PUSH_RETRY_BASE_SECONDS": "0.2",
}
os.environ.update(WORKER_ENV)
os.environ.setdefault("CELERY_BROKER_URL", os.environ.get("REDIS_URL", ""))

import django  # noqa: E402  (settings come from the environment above)

django.setup()

from bson import Decimal128, ObjectId  # noqa: E402

from integrations.credentials import Credentials  # noqa: E402
from integrations.repository import CONNECTED, IntegrationRepository  # noqa: E402
from locations.repository import LocationRepository  # noqa: E402
from orders import services  # noqa: E402
from orders.pricing import LineRequest  # noqa: E402
from orders.repository import TransactionRepository  # noqa: E402
from upvendo.mongo import ensure_indexes, get_client, get_db  # noqa: E402


@contextlib.contextmanager
def process(
    command: list[str], ready: str, name: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run `command` with its output in a log file; yield it with its first line matching
    `ready`."""
    log = LOG_DIR / f"{name.replace(' ', '-')}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            lines = [line for line in log.read_text(errors="replace").splitlines() if ready in line]
            if lines:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {log}")
            time.sleep(0.1)
        yield proc, lines[0]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def celery_worker(queue: str, concurrency: int) -> contextlib.AbstractContextManager[Any]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "upvendo",
        "worker",
        "-Q",
        queue,
        "--concurrency",
        str(concurrency),
        "-P",
        "prefork",
        "-n",
        f"bench-{queue}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    return process(command, " ready.", f"worker {queue}")


def setup_shop(base_url: str) -> tuple[Any, list[str]]:
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
    item_ids = []
    for number, price in enumerate(("12.50", "3.20", "8.90", "4.10", "15.00"), start=1):
        # Prices of the simulator's products P1..P5 with seed 1 are read back below.
        oid = ObjectId()
        item_ids.append(str(oid))
        db.items.insert_one(
            {
                "_id": oid,
                "location_id": location.id,
                "imported_by": "hendrickx",
                "name": f"P{number}",
                "price": Decimal128(price),
                "modifier_group_ids": [],
                "external_ids": {"hendrickx": f"P{number}"},
            }
        )
    return location, item_ids


def sync_prices(control_url: str) -> None:
    """Use the register's own prices for the bench items (so every bill total matches)."""
    import httpx

    catalog = httpx.get(control_url + "catalog", timeout=10).json()
    prices = {p["id"]: p["price"] for p in catalog["products"]}
    for doc in get_db().items.find({}, {"external_ids": 1}):
        get_db().items.update_one(
            {"_id": doc["_id"]},
            {"$set": {"price": Decimal128(prices[doc["external_ids"]["hendrickx"]])}},
        )


def run(location: Any, item_ids: list[str], orders: int, rate: float | None) -> dict[str, Any]:
    txns = [
        services.create_transaction(
            location,
            channel="kiosk",
            table_number=None,
            lines=[LineRequest(item_ids[i % len(item_ids)], 1 + i % 3)],
        )
        for i in range(orders)
    ]
    started: dict[str, datetime] = {}

    def confirm(txn: Any) -> None:
        started[txn.id] = datetime.now(UTC)
        services.confirm_payment(
            txn, amount=txn.total, payment_provider="bench", payment_reference=f"pi_{txn.id}"
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
    repo, ids = TransactionRepository(), [t.id for t in txns]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        statuses = Counter(
            doc["pos_status"]
            for doc in get_db().transactions.find(
                {"_id": {"$in": [ObjectId(i) for i in ids]}}, {"pos_status": 1}
            )
        )
        if statuses["paid"] == len(ids) or statuses["failed"] or statuses["need_requeue"]:
            break
        time.sleep(0.2)
    latencies, finished = [], []
    for i in ids:
        found = repo.get(i)
        assert found is not None and found.push is not None
        push = found.push
        if push.status != "paid":
            raise SystemExit(f"order {i} ended {push.status}: {push.err_message}")
        paid_at = push.history[-1]["at"]
        latencies.append((paid_at - started[i]).total_seconds())
        finished.append(paid_at)
    wall = (max(finished) - min(started.values())).total_seconds()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "orders": orders,
        "p50": quantiles[49],
        "p95": quantiles[94],
        "p99": quantiles[98],
        "max": max(latencies),
        "wall": wall,
        "throughput": orders / wall,
    }


def write_section(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        start, stop = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + block + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="paced run: confirmations per second"
    )
    parser.add_argument("--burst", type=int, default=200, help="orders in the burst run")
    parser.add_argument("--default-concurrency", type=int, default=3)
    parser.add_argument("--payments-concurrency", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    # The simulator's handler writes headers and body separately; with Nagle on, every answer
    # on a kept-alive connection then waits for the client's delayed ACK (~40 ms). A real
    # register's HTTP stack does not, so the benchmark turns Nagle off in the simulator.
    simulator = [
        sys.executable,
        "-c",
        NO_NAGLE_SIMULATOR,
        "--port",
        "0",
        "--products",
        "50",
        "--tables",
        str(TABLES),
        "--signature-key",
        KEY,
        "--encryption-token",
        TOKEN,
        "--encrypt",
    ]
    try:
        with (
            process(simulator, "listening on", "simulator") as (_, sim_line),
            celery_worker("default", args.default_concurrency),
            celery_worker("payments-medium", args.payments_concurrency),
        ):
            match = re.search(r"(http://\S+)", sim_line)
            assert match
            base_url = match.group(1)
            control_url = base_url.split("/kassanet/")[0] + "/_control/"
            location, item_ids = setup_shop(base_url)
            sync_prices(control_url)
            paced = run(location, item_ids, args.orders, args.rate)
            import httpx

            httpx.post(control_url + "reset", json={}, timeout=10)
            burst = run(location, item_ids, args.burst, None)
    finally:
        get_client().drop_database(DB_NAME)
    rows = [
        ("orders in the paced run", f"{args.orders}"),
        (f"paced at {args.rate:g}/s: latency p50", f"{paced['p50'] * 1000:.0f} ms"),
        (f"paced at {args.rate:g}/s: latency p95", f"{paced['p95'] * 1000:.0f} ms"),
        (f"paced at {args.rate:g}/s: latency p99", f"{paced['p99'] * 1000:.0f} ms"),
        (f"paced at {args.rate:g}/s: latency max", f"{paced['max'] * 1000:.0f} ms"),
        (f"burst ({args.burst} at once): throughput", f"{burst['throughput']:.1f} orders/s"),
        ("burst: latency p50 / p99", f"{burst['p50']:.2f} s / {burst['p99']:.2f} s"),
        (
            "workers",
            f"default x{args.default_concurrency}, payments-medium x{args.payments_concurrency} (prefork)",
        ),
        (
            "machine",
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        ),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    section = (
        f"### Order push: payment-confirmed to paid bill ({args.orders} orders)\n\n"
        f"Measured with `.venv/bin/python -m benchmarks.bench_order_push --write` on "
        f"{datetime.now(UTC):%Y-%m-%d}: simulator in a subprocess at zero latency, encryption on, "
        f"{TABLES} tables; 4 register calls, 3 task hops and ~12 MongoDB writes per order. "
        "Latency is from the confirm call to the `paid` transition stored on the order. "
        "Targets: p50 <= 150 ms, p99 <= 1 s.\n\n| measure | value |\n| --- | --- |\n" + table
    )
    print(section)
    print(f"worker and simulator logs: {LOG_DIR}")
    if args.write:
        write_section(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
