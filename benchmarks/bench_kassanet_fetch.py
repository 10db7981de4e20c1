"""Benchmark: fetch and decode GetAllProducts (20,000 products, encryption on).

Starts ``python -m kassanet.simulator`` in a subprocess, then fetches the menu with
:class:`kassanet.KassanetClient` several times and reports wall time, the share spent in
Blowfish decryption, and the client process's peak memory (RSS and tracemalloc).

    .venv/bin/python -m benchmarks.bench_kassanet_fetch [--products 20000] [--runs 5] [--write]

``--write`` updates the ``<!-- bench:kassanet-fetch -->`` section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

import kassanet._crypto as crypto
from kassanet import KassanetClient, RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:kassanet-fetch -->", "<!-- /bench:kassanet-fetch -->"
KEY, TOKEN = "bench-signature-key", "bench-encryption-token"


@contextmanager
def simulator(products: int) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "kassanet.simulator",
        "--port",
        "0",
        "--products",
        str(products),
        "--seed",
        "1",
        "--signature-key",
        KEY,
        "--encryption-token",
        TOKEN,
        "--encrypt",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


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


def run(products: int, runs: int) -> list[tuple[str, str]]:
    import kassanet._codec as codec

    timer = TimedDecrypt()
    codec.decrypt = timer  # type: ignore[assignment]
    walls: list[float] = []
    shares: list[float] = []
    sizes = 0
    with simulator(products) as base_url:
        client = KassanetClient(
            base_url, KEY, TOKEN, True, timeout=60.0, retry=RetryPolicy(max_attempts=1)
        )
        with client:
            client.get_all_products()  # warm up: the simulator caches its JSON
            for _ in range(runs):
                timer.seconds = 0.0
                started = time.perf_counter()
                sizes = len(client.get_all_products())
                walls.append(time.perf_counter() - started)
                shares.append(timer.seconds / walls[-1])
            tracemalloc.start()  # a separate run: tracing slows Python down several times
            client.get_all_products()
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    rss = psutil.Process().memory_info()
    peak_rss = getattr(rss, "peak_wset", None) or _vm_hwm() or rss.rss
    return [
        ("products decoded", f"{sizes:,}"),
        ("runs", str(runs)),
        ("wall time median", f"{statistics.median(walls):.2f} s"),
        ("wall time min / max", f"{min(walls):.2f} s / {max(walls):.2f} s"),
        ("share in Blowfish decrypt", f"{statistics.median(shares):.0%}"),
        ("client peak RSS", f"{peak_rss / 2**20:.0f} MiB"),
        ("tracemalloc peak (Python allocations)", f"{traced_peak / 2**20:.0f} MiB"),
        (
            "machine",
            f"{platform.machine()}, {psutil.cpu_count()} CPUs, Python {platform.python_version()}",
        ),
    ]


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def render(rows: list[tuple[str, str]], products: int) -> str:
    lines = [
        f"### Kassanet GetAllProducts fetch ({products:,} products, encryption on)",
        "",
        "Measured with `.venv/bin/python -m benchmarks.bench_kassanet_fetch --write` "
        f"on {time.strftime('%Y-%m-%d')}: simulator in a subprocess, loopback HTTP, "
        "fetch + Blowfish decrypt + JSON + typed parsing per run.",
        "",
        "| measure | value |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in rows),
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        start, stop = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + block + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    rows = run(args.products, args.runs)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.write:
        write_section(render(rows, args.products))
        print(f"updated {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
