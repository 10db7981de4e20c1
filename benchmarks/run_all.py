"""Run every benchmark against real services and print ONE table, each figure beside its target.

    scripts/with-test-services .venv/bin/python -m benchmarks.run_all [--quick] [--no-write]
    make bench                                            # the same, with its own MongoDB/Redis

Each benchmark runs in its own process, one after the other (so they never compete for the
CPUs): the GetAllProducts fetch (20,000 products), the menu import at 1,000 / 10,000 /
30,000 products with an unchanged re-import each, the order push (latency paced, throughput
in a burst), API reads under concurrent load, and table-lock contention. Each writes its own
detailed section of docs/performance.md; this script then writes the summary (the
``<!-- bench:summary -->`` section, first in the file) with the machine's description.

Growth of the import is judged from the 10,000 and 30,000 runs (1,000 is dominated by fixed
costs: worker hand-offs, the transaction): time per product and worker memory per product
(peak minus idle RSS) at 30,000 may be at most 1.2 times those at 10,000 ("no worse than
linear", with 20% for noise). ``--quick`` runs small sizes to check the wiring only (its
figures are not written). Exit status 1 when a benchmark fails to run or proves a double
grant; a missed target is reported in the table, not as a failure.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import DOC, ROOT, machine, today, write_section

MARKER = "summary"
GROWTH_TOLERANCE = 1.2


@dataclass(frozen=True)
class Sizes:
    fetch_products: int
    fetch_runs: int
    imports: tuple[int, ...]
    detail_import: int  # the size whose detailed section is written
    orders: int
    api_seconds: int
    lock_seconds: int


FULL = Sizes(20_000, 5, (1_000, 10_000, 30_000), 10_000, 500, 15, 10)
QUICK = Sizes(2_000, 2, (200, 1_000, 3_000), 1_000, 40, 3, 2)


class BenchmarkFailed(Exception):
    pass


def bench(module: str, *args: str, write: bool, timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module> ... --json`` and return its figures."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", f"benchmarks.{module}", *args, "--json", out.name]
        if write:
            command.append("--write")
        print(f"$ {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        result = subprocess.run(
            command, cwd=ROOT, timeout=timeout, check=False, stderr=subprocess.PIPE, text=True
        )
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BenchmarkFailed(f"{module} exited with status {result.returncode}: {last}")
        print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
        figures: dict[str, Any] = json.loads(Path(out.name).read_text())
        return figures


def order_push(orders: int, write: bool) -> dict[str, float]:
    """benchmarks.bench_order_push prints its markdown table; read the figures from it."""
    command = [sys.executable, "-m", "benchmarks.bench_order_push", "--orders", str(orders)]
    if write:
        command.append("--write")
    print(f"$ {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, timeout=900, check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise BenchmarkFailed(f"bench_order_push exited with status {result.returncode}")
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", result.stdout, re.MULTILINE))

    def value(pattern: str) -> float:
        for name, text in rows.items():
            if re.search(pattern, name):
                return float(re.sub(r"[^0-9.]", "", text.split()[0]))
        raise BenchmarkFailed(f"bench_order_push printed no row matching {pattern!r}")

    return {
        "p50_ms": value(r"paced.*p50"),
        "p95_ms": value(r"paced.*p95"),
        "p99_ms": value(r"paced.*p99"),
        "throughput": value(r"throughput"),
    }


def judged(value: float, target: float | None, unit: str, digits: int = 2) -> tuple[str, str, str]:
    shown = f"{value:,.{digits}f} {unit}".strip()
    if target is None:
        return shown, "—", ""
    return shown, f"≤ {target:g} {unit}".strip(), "meets" if value <= target else "MISSES"


def growth_rows(imports: dict[int, dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    sizes = sorted(imports)
    rows = []
    per_time = {n: imports[n]["first_s"] / n * 1000 for n in sizes}  # ms per product
    per_memory = {
        n: max(imports[n]["worker_peak_rss_mib"] - imports[n]["worker_idle_rss_mib"], 0) / n * 1024
        for n in sizes
    }  # KiB per product
    middle, largest = sizes[-2], sizes[-1]
    for label, per, unit in (
        ("import time per product", per_time, "ms"),
        ("worker memory per product (peak - idle)", per_memory, "KiB"),
    ):
        shown = " / ".join(f"{per[n]:.3f}" for n in sizes) + f" {unit}"
        ratio = per[largest] / per[middle] if per[middle] else float("inf")
        rows.append(
            (
                "menu import growth",
                f"{label} at {' / '.join(f'{n:,}' for n in sizes)}",
                shown,
                f"{largest:,} ≤ {GROWTH_TOLERANCE:g} x {middle:,} (linear)",
                f"{'meets' if ratio <= GROWTH_TOLERANCE else 'MISSES'} (x{ratio:.2f})",
            )
        )
    return rows


def run(sizes: Sizes, write: bool) -> tuple[list[tuple[str, str, str, str, str]], float]:
    started = time.monotonic()
    rows: list[tuple[str, str, str, str, str]] = []
    fetch = bench(
        "bench_kassanet_fetch",
        "--products", str(sizes.fetch_products),
        "--runs", str(sizes.fetch_runs),
        write=write,
    )  # fmt: skip
    rows.append(
        (
            "kassanet fetch",
            f"GetAllProducts, {fetch['products']:,} products, encrypted (median)",
            *judged(fetch["median_s"], None, "s"),
        )
    )
    imports: dict[int, dict[str, Any]] = {}
    for n in sizes.imports:
        try:
            imports[n] = bench(
                "bench_menu_import", "--products", str(n), write=write and n == sizes.detail_import
            )
        except BenchmarkFailed as error:  # e.g. a menu too large for one transaction
            reason = str(error).split(": ", 1)[-1][:160]
            rows.append(
                (f"menu import {n:,}", "first import", f"FAILED: {reason}", "succeeds", "MISSES")
            )
            print(f"  {error}", flush=True)
            continue
        figures = imports[n]
        # The targets are for 10,000 products; other sizes are judged by their growth.
        target_first = 10.0 if n == 10_000 else None
        target_again = 5.0 if n == 10_000 else None
        target_memory = 400 if n == 10_000 else None
        rows.append(
            (
                f"menu import {n:,}",
                "first import (enqueue to success)",
                *judged(figures["first_s"], target_first, "s"),
            )
        )
        unchanged = "writes nothing" if figures["reimport_writes_nothing"] else "WROTE CHANGES"
        shown, target, mark = judged(figures["reimport_s"], target_again, "s")
        rows.append(
            (
                f"menu import {n:,}",
                f"unchanged re-import ({unchanged})",
                shown,
                target,
                mark if figures["reimport_writes_nothing"] else "MISSES",
            )
        )
        if "stock_refresh_s" in figures:
            rows.append(
                (
                    f"menu import {n:,}",
                    "stock refresh (first / no change)",
                    f"{figures['stock_refresh_s']:.2f} s / "
                    f"{figures['stock_refresh_unchanged_s']:.2f} s",
                    "—",
                    "",
                )
            )
        rows.append(
            (
                f"menu import {n:,}",
                "worker peak RSS (process tree)",
                *judged(figures["worker_peak_rss_mib"], target_memory, "MiB", 0),
            )
        )
    if len(imports) == len(sizes.imports):
        rows += growth_rows(imports)
    else:
        failed = ", ".join(f"{n:,}" for n in sizes.imports if n not in imports)
        rows.append(
            (
                "menu import growth",
                "per product",
                f"not judged ({failed} failed)",
                "linear",
                "MISSES",
            )
        )
    push = order_push(sizes.orders, write)
    rows.append(
        (
            "order push",
            f"paced latency p50 ({sizes.orders} orders)",
            *judged(push["p50_ms"], 150, "ms", 0),
        )
    )
    rows.append(("order push", "paced latency p95", *judged(push["p95_ms"], None, "ms", 0)))
    rows.append(("order push", "paced latency p99", *judged(push["p99_ms"], 1000, "ms", 0)))
    rows.append(
        ("order push", "burst throughput", *judged(push["throughput"], None, "orders/s", 1))
    )
    api = bench("bench_api_reads", "--seconds", str(sizes.api_seconds), write=write)
    rows.append(
        (
            "API reads",
            f"{api['clients']} clients: p50 / p95 / p99",
            " / ".join(f"{api['all'][p] * 1000:.0f}" for p in ("p50", "p95", "p99")) + " ms",
            "—",
            "",
        )
    )
    rows.append(("API reads", "throughput", *judged(api["requests_per_s"], None, "req/s", 0)))
    locks = bench("bench_table_locks", "--seconds", str(sizes.lock_seconds), write=write)
    rows.append(
        (
            "table locks",
            f"{locks['claimers']} claimers on {locks['tables']} tables: claims granted",
            *judged(locks["claims_per_s"], None, "claims/s", 0),
        )
    )
    double = locks["double_grants"] + locks["audit_overlaps"]
    rows.append(
        ("table locks", "double grants", str(double), "0", "meets" if not double else "MISSES")
    )
    if double:
        raise BenchmarkFailed(f"table locks: {double} double grant(s)")
    return rows, time.monotonic() - started


def render(rows: list[tuple[str, str, str, str, str]], elapsed: float) -> str:
    missed = sum(1 for row in rows if row[4].startswith("MISSES"))
    lines = [
        "## Summary: every benchmark, each figure beside its target",
        "",
        f"Measured with `make bench` (`benchmarks/run_all.py`) on {today()}, in "
        f"{elapsed / 60:.1f} minutes, on {machine()}. Real MongoDB (single-node replica set) "
        "and Redis started for the run, the simulator in a subprocess on loopback, Celery "
        "workers as in production (prefork). The machine is shared: figures are one run's, "
        "not a best of several. Details of each benchmark are in the sections below.",
        "",
        "| benchmark | measure | figure | target | verdict |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        f"{missed} target(s) missed." if missed else "Every target is met.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, nothing written")
    parser.add_argument("--no-write", action="store_true", help="do not update the doc")
    args = parser.parse_args()
    write = not (args.quick or args.no_write)
    try:
        rows, elapsed = run(QUICK if args.quick else FULL, write)
    except (BenchmarkFailed, subprocess.TimeoutExpired) as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 1
    section = render(rows, elapsed)
    print()
    print(section)
    if write:
        write_section(MARKER, section, first=True)
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
