"""Benchmark: table-lock contention, many concurrent claimers on a few tables.

``--claimers`` threads (each its own order) claim random tables of one register with
``orders.locks.TableLockRepository`` (the order push's lock: one conditional upsert in
MongoDB), hold a granted table for a moment and release it. One claim in ``--crash-every``
"crashes": it never releases and its short lock must expire before anyone else gets the
table. Every grant is checked in and out of an in-memory register of holders, so a table
ever granted to two live owners at once is caught (``double grants``, must be 0); the
lock's audit trail in MongoDB is replayed as a second check.

    .venv/bin/python -m benchmarks.bench_table_locks [--claimers 32] [--tables 4] \
        [--seconds 10] [--write] [--json FILE]

Needs MONGODB_URI (``scripts/with-test-services``); uses a throw-away database.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upvendo.settings")
django.setup()

from django.conf import settings  # noqa: E402

from benchmarks._common import machine, markdown_table, parser, report, today  # noqa: E402
from orders.locks import TableLockRepository  # noqa: E402
from upvendo.mongo import ensure_indexes, get_client  # noqa: E402

MARKER = "table-locks"
LOCATION, PROVIDER = "bench-location", "hendrickx"
LIVE_TTL = timedelta(minutes=5)  # a live holder never loses its table to expiry
CRASH_TTL = timedelta(seconds=1)


class Holders:
    """Who holds each table right now, as the claimers themselves see it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: dict[int, str] = {}
        self.double_grants = 0

    def check_in(self, table: int, owner: str) -> None:
        with self._lock:
            if table in self._owner:
                self.double_grants += 1
            self._owner[table] = owner

    def check_out(self, table: int, owner: str) -> None:
        with self._lock:
            if self._owner.get(table) == owner:
                del self._owner[table]


def claimer(
    locks: TableLockRepository,
    holders: Holders,
    tables: int,
    crash_every: int,
    stop_at: float,
    counts: Counter[str],
    seed: int,
) -> None:
    rng = random.Random(seed)
    local: Counter[str] = Counter()
    while time.monotonic() < stop_at:
        table = rng.randint(1, tables)
        owner = uuid.uuid4().hex
        crash = rng.randrange(crash_every) == 0
        local["attempts"] += 1
        now = datetime.now(UTC)
        if not locks.claim(
            LOCATION, PROVIDER, table, owner, now=now, ttl=CRASH_TTL if crash else LIVE_TTL
        ):
            local["refused"] += 1
            time.sleep(rng.uniform(0, 0.002))  # a refused order retries a little later
            continue
        local["granted"] += 1
        holders.check_in(table, owner)
        time.sleep(0.001)  # the order uses its table
        holders.check_out(table, owner)
        if crash:
            local["crashed"] += 1  # never released: the lock must expire
            continue
        locks.release(LOCATION, PROVIDER, table, owner, now=datetime.now(UTC))
    counts.update(local)


def replay_overlaps(locks: TableLockRepository) -> int:
    """Claims by a new owner while the previous one neither released nor expired."""
    overlaps = 0
    for lock in locks.for_location(LOCATION, PROVIDER):
        holder: tuple[str, datetime] | None = None
        for event in lock.events:
            if event["event"] == "claim":
                if holder and holder[0] != event["owner"] and event["at"] <= holder[1]:
                    overlaps += 1
                holder = (event["owner"], event["at"] + CRASH_TTL)
            elif holder and event["owner"] == holder[0]:
                holder = None
    return overlaps


def run(claimers: int, tables: int, seconds: float, crash_every: int) -> dict[str, Any]:
    db_name = f"bench_locks_{uuid.uuid4().hex[:8]}"
    settings.MONGODB_DB = db_name
    ensure_indexes()
    locks = TableLockRepository()
    holders = Holders()
    counts: Counter[str] = Counter()
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=claimer,
            args=(locks, holders, tables, crash_every, stop_at, counts, index),
        )
        for index in range(claimers)
    ]
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        overlaps = replay_overlaps(locks)
    finally:
        get_client().drop_database(db_name)
    return {
        "claimers": claimers,
        "tables": tables,
        "seconds": elapsed,
        "attempts": counts["attempts"],
        "granted": counts["granted"],
        "refused": counts["refused"],
        "crashed": counts["crashed"],
        "attempts_per_s": counts["attempts"] / elapsed,
        "claims_per_s": counts["granted"] / elapsed,
        "double_grants": holders.double_grants,
        "audit_overlaps": overlaps,
    }


def rows_for(figures: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            "claimers / tables / duration",
            f"{figures['claimers']} threads / {figures['tables']} tables / "
            f"{figures['seconds']:.1f} s",
        ),
        ("claim attempts", f"{figures['attempts']:,} ({figures['attempts_per_s']:,.0f}/s)"),
        ("claims granted", f"{figures['granted']:,} ({figures['claims_per_s']:,.0f}/s)"),
        ("claims refused (table held)", f"{figures['refused']:,}"),
        ("holders that never released (lock expired)", f"{figures['crashed']:,}"),
        ("double grants seen by the claimers", f"{figures['double_grants']} (must be 0)"),
        ("overlaps in the locks' audit trail", f"{figures['audit_overlaps']} (must be 0)"),
        ("machine", machine()),
    ]


def main() -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--claimers", type=int, default=32)
    args_parser.add_argument("--tables", type=int, default=4)
    args_parser.add_argument("--seconds", type=float, default=10.0)
    args_parser.add_argument("--crash-every", type=int, default=50)
    args = args_parser.parse_args()
    figures = run(args.claimers, args.tables, args.seconds, args.crash_every)
    rows = rows_for(figures)
    section = "\n".join(
        [
            f"### Table-lock contention ({args.claimers} claimers on {args.tables} tables)",
            "",
            "Measured with `.venv/bin/python -m benchmarks.bench_table_locks --write` on "
            f"{today()}: threads of one process claiming with `orders.locks."
            "TableLockRepository.claim` (one conditional upsert) against real MongoDB; a "
            "granted table is held ~1 ms and released; one claim in "
            f"{args.crash_every} never releases and its {CRASH_TTL.total_seconds():.0f} s "
            "lock must expire first.",
            "",
            markdown_table(rows),
        ]
    )
    report(args, rows, marker=MARKER, section=section, figures=figures)
    return 0 if figures["double_grants"] == figures["audit_overlaps"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
