"""Benchmark: API read latency under concurrent load, through gunicorn on loopback.

Seeds a location whose Hendrickx menu was imported from a simulator (``--products``), then
starts ``gunicorn upvendo.wsgi`` (``--workers`` processes x ``--threads`` threads, as in
production) and lets ``--clients`` concurrent httpx clients (threads, keep-alive, token
auth) read for ``--seconds``, alternating:

- ``GET /api/backoffice/kassanet/hendrickx/{location}/`` (integration details: masked
  credentials, settings, sync status, logs);
- ``GET /api/backoffice/locations/{location}/items?limit=100`` (a page of items with their
  modifier groups expanded).

Reports p50 / p95 / p99 latency per endpoint and requests per second; any answer other than
200 fails the run.

    .venv/bin/python -m benchmarks.bench_api_reads [--clients 16] [--seconds 15] [--write]

Needs MONGODB_URI (``scripts/with-test-services``); uses a throw-away MongoDB database and
SQLite file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

DB_NAME = f"bench_api_{uuid.uuid4().hex[:8]}"
SQLITE = Path(tempfile.mkdtemp(prefix="bench-api-")) / "db.sqlite3"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "upvendo.settings",
        "MONGODB_DB": DB_NAME,
        "DATABASE_URL": f"sqlite:///{SQLITE}",
        # One token reads as fast as it can: the per-user API throttle would answer 429.
        "API_THROTTLE_USER": "off",
    }
)

import django  # noqa: E402  (settings come from the environment above)

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.services import ensure_vendor_user  # noqa: E402
from benchmarks._common import (  # noqa: E402
    ROOT,
    machine,
    markdown_table,
    parser,
    percentiles,
    report,
    today,
)
from integrations.credentials import Credentials  # noqa: E402
from integrations.repository import IntegrationRepository  # noqa: E402
from integrations.services import get_service  # noqa: E402
from kassanet.testing import start_simulator  # noqa: E402
from locations.repository import LocationRepository  # noqa: E402
from tests.e2e_support import wait_for  # noqa: E402
from upvendo.mongo import ensure_indexes, get_client  # noqa: E402

MARKER = "api-reads"


def seed(products: int) -> tuple[str, str]:
    """A vendor's token and a location with an imported menu; returns (token, location id)."""
    call_command("migrate", verbosity=0, interactive=False)
    ensure_indexes()
    user = ensure_vendor_user("bench", vendor_name="Bench")
    location = LocationRepository().create(
        vendor_id=str(user.vendor.pk), name="Bench", timezone="Europe/Brussels", currency="EUR"
    )
    with start_simulator(products=products, tables=20, encrypt=True) as sim:
        integration = IntegrationRepository().upsert(
            location.id,
            "hendrickx",
            Credentials(sim.base_url, sim.signature_key, sim.encryption_token, True),
            {"sync_time": "06:00", "sync_time_local": "07:00"},
        )
        status = get_service("hendrickx").import_menu_now(integration)
        if status["status"] != "success":
            raise SystemExit(f"seeding the menu failed: {status['message']}")
    return user.token, location.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn(port: int, workers: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "upvendo.wsgi",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread",
        "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT
        )


def load(
    base: str, token: str, paths: dict[str, str], clients: int, seconds: float
) -> tuple[dict[str, list[float]], dict[str, int], float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    guard = threading.Lock()
    names = list(paths)
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        mine: dict[str, list[float]] = defaultdict(list)
        bad: dict[str, int] = defaultdict(int)
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            turn = index
            while time.monotonic() < stop_at:
                name = names[turn % len(names)]
                turn += 1
                started = time.perf_counter()
                response = http.get(paths[name])
                elapsed = time.perf_counter() - started
                if response.status_code == 200:
                    mine[name].append(elapsed)
                else:
                    bad[f"{name} {response.status_code}"] += 1
        with guard:
            for name, values in mine.items():
                latencies[name].extend(values)
            for name, count in bad.items():
                failures[name] += count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, time.perf_counter() - started


def run(products: int, clients: int, seconds: float, workers: int, threads: int) -> dict[str, Any]:
    try:
        token, location_id = seed(products)
        paths = {
            "integration details": f"/api/backoffice/kassanet/hendrickx/{location_id}/",
            "items page (100)": f"/api/backoffice/locations/{location_id}/items?limit=100",
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = SQLITE.parent / "gunicorn.log"
        server = gunicorn(port, workers, threads, log)
        try:

            def answers() -> bool:
                try:
                    return httpx.get(base + "/healthz", timeout=2).status_code < 500
                except httpx.TransportError:
                    return False

            wait_for(answers, timeout=60, interval=0.2, what="gunicorn to answer")
            load(base, token, paths, clients, 2.0)  # warm up every worker and connection
            alone, failures, _ = load(base, token, paths, 1, 3.0)
            latencies, more, elapsed = load(base, token, paths, clients, seconds)
            failures.update(more)
        finally:
            server.terminate()
            server.wait(timeout=20)
        if failures:
            raise SystemExit(f"non-200 answers: {dict(failures)}\n{log.read_text()[-2000:]}")
    finally:
        get_client().drop_database(DB_NAME)
    total = sum(len(values) for values in latencies.values())
    return {
        "products": products,
        "clients": clients,
        "workers": workers,
        "threads": threads,
        "seconds": elapsed,
        "requests": total,
        "requests_per_s": total / elapsed,
        "endpoints": {
            name: {**percentiles(values), "requests": len(values)}
            for name, values in latencies.items()
        },
        "all": percentiles([v for values in latencies.values() for v in values]),
        "one_client": percentiles([v for values in alone.values() for v in values]),
    }


def rows_for(figures: dict[str, Any]) -> list[tuple[str, str]]:
    def ms(stats: dict[str, float]) -> str:
        return " / ".join(f"{stats[p] * 1000:.0f}" for p in ("p50", "p95", "p99")) + " ms"

    rows = [
        (
            "load",
            f"{figures['clients']} concurrent clients for {figures['seconds']:.0f} s; gunicorn "
            f"{figures['workers']} workers x {figures['threads']} threads; menu of "
            f"{figures['products']:,} products",
        ),
        (
            "throughput",
            f"{figures['requests_per_s']:.0f} req/s ({figures['requests']:,} requests, all 200)",
        ),
        ("one client alone: p50 / p95 / p99", ms(figures["one_client"])),
        ("all reads under load: p50 / p95 / p99", ms(figures["all"])),
    ]
    rows += [
        (f"{name}: p50 / p95 / p99", ms(stats)) for name, stats in figures["endpoints"].items()
    ]
    rows.append(("machine", machine()))
    return rows


def main() -> None:
    args_parser = parser(__doc__)
    args_parser.add_argument("--products", type=int, default=1_000)
    args_parser.add_argument("--clients", type=int, default=16)
    args_parser.add_argument("--seconds", type=float, default=15.0)
    args_parser.add_argument("--workers", type=int, default=2)
    args_parser.add_argument("--threads", type=int, default=4)
    args = args_parser.parse_args()
    figures = run(args.products, args.clients, args.seconds, args.workers, args.threads)
    rows = rows_for(figures)
    section = "\n".join(
        [
            f"### API reads under load ({args.clients} concurrent clients)",
            "",
            "Measured with `.venv/bin/python -m benchmarks.bench_api_reads --write` on "
            f"{today()}: gunicorn (gthread) on loopback, token authentication, real MongoDB; "
            "the clients run on the same machine (they share its CPUs with the server). "
            "Latency is client-side, request sent to body read.",
            "",
            markdown_table(rows),
        ]
    )
    report(args, rows, marker=MARKER, section=section, figures=figures)


if __name__ == "__main__":
    main()
