"""Benchmark: the full menu import pipeline (simulator process + a real Celery worker).

Starts ``python -m kassanet.simulator`` (encryption on, 50 tables) and a Celery worker on the
``menu-import`` queue, then measures a first import, an unchanged re-import, the worker's
peak RSS (whole process tree, psutil) and a raw ``bulk_write`` of the same documents as a
baseline. Needs MONGODB_URI / REDIS_URL (``scripts/services.py start``); uses a throw-away
database that it drops at the end.

    .venv/bin/python -m benchmarks.bench_menu_import [--products 10000] [--write]

With N products the simulator serves about N/33 categories, N/5 modifier groups and N/50
selections. ``--write`` updates the ``<!-- bench:menu-import -->`` section of
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
import psutil

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upvendo.settings")
django.setup()

from django.conf import settings  # noqa: E402
from pymongo import InsertOne  # noqa: E402

from benchmarks.bench_kassanet_fetch import KEY, TOKEN, simulator  # noqa: E402
from integrations.credentials import Credentials  # noqa: E402
from integrations.repository import IntegrationRepository  # noqa: E402
from integrations.services import get_service  # noqa: E402
from locations.repository import LocationRepository  # noqa: E402
from menus.importer import ENTITIES  # noqa: E402
from tests.e2e_support import celery_worker, wait_for  # noqa: E402
from upvendo.mongo import ensure_indexes, get_client, get_db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:menu-import -->", "<!-- /bench:menu-import -->"
TARGETS = {"first": 10.0, "reimport": 5.0, "rss_mib": 400.0}


class PeakRss:
    """Samples the RSS of a process tree in a thread and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._interval = interval

    def _sample(self) -> int:
        total = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def import_once(integration_id: str) -> tuple[float, dict[str, Any]]:
    integrations = IntegrationRepository()
    integration = integrations.get_by_id(integration_id)
    assert integration is not None
    started = time.perf_counter()
    run_id = get_service(integration.provider).import_menu(integration)

    def done() -> dict[str, Any] | None:
        current = integrations.get_by_id(integration_id)
        assert current is not None
        status = current.sync_status
        return status if status["run_id"] == run_id and status["status"] != "in_progress" else None

    status = wait_for(done, timeout=600, interval=0.02, what="the import")
    elapsed = time.perf_counter() - started
    if status["status"] != "success":
        raise RuntimeError(f"import failed: {status['message']}")
    return elapsed, status


def raw_bulk_write_seconds(location_id: str) -> tuple[float, int]:
    """Insert the imported documents again, with bulk_write, into scratch collections."""
    db = get_db()
    documents = {
        name: list(db[name].find({"location_id": location_id}))
        for name in (*ENTITIES, "table_sections")
    }
    count = sum(len(docs) for docs in documents.values())
    started = time.perf_counter()
    for name, docs in documents.items():
        if docs:
            db[f"raw_{name}"].bulk_write([InsertOne(doc) for doc in docs], ordered=False)
    return time.perf_counter() - started, count


def run(products: int) -> list[tuple[str, str]]:
    db_name = f"bench_menu_{uuid.uuid4().hex[:8]}"
    settings.MONGODB_DB = db_name
    redis_prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    settings.REDIS_KEY_PREFIX = redis_prefix
    ensure_indexes()
    try:
        with (
            simulator(products) as base_url,
            celery_worker(
                db_name=db_name, redis_prefix=redis_prefix, queues=["menu-import"]
            ) as worker,
        ):
            location = LocationRepository().create(
                vendor_id="bench", name="Bench", timezone="Europe/Brussels", currency="EUR"
            )
            integration = IntegrationRepository().upsert(
                location.id, "hendrickx", Credentials(base_url, KEY, TOKEN, True), {}
            )
            with PeakRss(worker.pid) as rss:
                first, status = import_once(integration.id)
                reimport, again = import_once(integration.id)
            raw, documents = raw_bulk_write_seconds(location.id)
    finally:
        get_client().drop_database(db_name)
    report = status["details"]["report"]
    unchanged = all(
        c["created"] == c["updated"] == c["deleted"] == 0
        for c in again["details"]["report"].values()
    )
    peak_mib = rss.peak / 2**20

    def verdict(value: float, target: float) -> str:
        return "meets" if value <= target else "MISSES"

    return [
        (
            "register",
            f"{products:,} products, {report['categories']['created']} categories, "
            f"{report['modifier_groups']['created']:,} modifier groups, "
            f"{report['display_groups']['created']} selections, "
            f"{status['details']['tables']['tables']} tables",
        ),
        (
            "items imported / skipped",
            f"{report['items']['created']:,} / {report['items']['skipped']}",
        ),
        (
            "first import (enqueue to success)",
            f"{first:.2f} s ({verdict(first, TARGETS['first'])} the 10 s target)",
        ),
        (
            "unchanged re-import",
            f"{reimport:.2f} s ({verdict(reimport, TARGETS['reimport'])} the 5 s target); "
            f"writes nothing: {'yes' if unchanged else 'NO'}",
        ),
        (
            "worker peak RSS (process tree)",
            f"{peak_mib:.0f} MiB ({verdict(peak_mib, TARGETS['rss_mib'])} the 400 MB target)",
        ),
        ("raw bulk_write of the same documents", f"{raw:.2f} s for {documents:,} documents"),
        ("import throughput vs raw bulk_write", f"{raw / first:.0%} (raw time / import time)"),
        (
            "machine",
            f"{platform.machine()}, {psutil.cpu_count()} CPUs, Python {platform.python_version()}",
        ),
    ]


def render(rows: list[tuple[str, str]], products: int) -> str:
    return "\n".join(
        [
            f"### Menu import pipeline ({products:,} products, encryption on)",
            "",
            "Measured with `.venv/bin/python -m benchmarks.bench_menu_import "
            f"--products {products} --write` on {datetime.now(UTC):%Y-%m-%d}: simulator in a "
            "subprocess, one Celery worker (concurrency 1) on the menu-import queue, real "
            "MongoDB (single-node replica set) and Redis; times include Celery hand-offs "
            "between the four stages and the final transaction.",
            "",
            "| measure | value |",
            "| --- | --- |",
            *(f"| {name} | {value} |" for name, value in rows),
        ]
    )


def write_section(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        start, stop = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + block + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    rows = run(args.products)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.write:
        write_section(render(rows, args.products))
        print(f"updated {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
