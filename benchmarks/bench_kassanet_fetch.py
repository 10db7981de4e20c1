"""Benchmark: fetch and decode GetAllProducts (20,000 products, encryption on).

Starts ``python -m kassanet.simulator`` in a subprocess, then fetches the menu with
:class:`kassanet.KassanetClient` several times and reports wall time, the share spent in
Blowfish decryption, and the client process's peak memory (RSS and tracemalloc).

    .venv/bin/python -m benchmarks.bench_kassanet_fetch [--products 20000] [--runs 5] [--write]

``--write`` updates the ``<!-- bench:kassanet-fetch -->`` section of docs/performance.md.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil

import kassanet._crypto as crypto
from benchmarks._common import KEY, TOKEN, machine, markdown_table, parser, report, simulator, today
from kassanet import KassanetClient, RetryPolicy

MARKER = "kassanet-fetch"


class TimedDecrypt:
    """Wraps kassanet._crypto.decrypt to add up the time spent in it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original = crypto.decrypt

    def __call__(self, body: str | bytes, token: str | bytes) -> bytes:
        started = time.perf_counter()
        try:
            return self._original(body, token)
        finally:
            self.seconds += time.perf_counter() - started


def run(products: int, runs: int) -> dict[str, Any]:
    import kassanet._codec as codec

    timer = TimedDecrypt()
    codec.decrypt = timer
    walls: list[float] = []
    shares: list[float] = []
    decoded = 0
    with simulator(products) as sim:
        client = KassanetClient(
            sim.base_url, KEY, TOKEN, True, timeout=60.0, retry=RetryPolicy(max_attempts=1)
        )
        with client:
            client.get_all_products()  # warm up: the simulator caches its JSON
            for _ in range(runs):
                timer.seconds = 0.0
                started = time.perf_counter()
                decoded = len(client.get_all_products())
                walls.append(time.perf_counter() - started)
                shares.append(timer.seconds / walls[-1])
            tracemalloc.start()  # a separate run: tracing slows Python down several times
            client.get_all_products()
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    rss = psutil.Process().memory_info()
    return {
        "products": decoded,
        "runs": runs,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "decrypt_share": statistics.median(shares),
        "peak_rss_mib": (_vm_hwm() or rss.rss) / 2**20,
        "traced_peak_mib": traced_peak / 2**20,
    }


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def rows_for(figures: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("products decoded", f"{figures['products']:,}"),
        ("runs", str(figures["runs"])),
        ("wall time median", f"{figures['median_s']:.2f} s"),
        ("wall time min / max", f"{figures['min_s']:.2f} s / {figures['max_s']:.2f} s"),
        ("share in Blowfish decrypt", f"{figures['decrypt_share']:.0%}"),
        ("client peak RSS", f"{figures['peak_rss_mib']:.0f} MiB"),
        ("tracemalloc peak (Python allocations)", f"{figures['traced_peak_mib']:.0f} MiB"),
        ("machine", machine()),
    ]


def main() -> None:
    args_parser = parser(__doc__)
    args_parser.add_argument("--products", type=int, default=20_000)
    args_parser.add_argument("--runs", type=int, default=5)
    args = args_parser.parse_args()
    figures = run(args.products, args.runs)
    rows = rows_for(figures)
    section = "\n".join(
        [
            f"### Kassanet GetAllProducts fetch ({args.products:,} products, encryption on)",
            "",
            "Measured with `.venv/bin/python -m benchmarks.bench_kassanet_fetch --write` "
            f"on {today()}: simulator in a subprocess, loopback HTTP, "
            "fetch + Blowfish decrypt + JSON + typed parsing per run.",
            "",
            markdown_table(rows),
        ]
    )
    report(args, rows, marker=MARKER, section=section, figures=figures)


if __name__ == "__main__":
    main()
