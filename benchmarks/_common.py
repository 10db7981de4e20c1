"""What every benchmark shares: the simulator process, the machine's description, peak-memory
sampling, percentiles, and writing a marked section of docs/performance.md.

Each benchmark prints a two-column table (``rows``), can rewrite its own
``<!-- bench:NAME -->`` section of docs/performance.md (``--write``) and can save its raw
figures as JSON (``--json FILE``) for ``benchmarks.run_all``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
KEY, TOKEN = "bench-signature-key", "bench-encryption-token"

Rows = list[tuple[str, str]]


@dataclass(frozen=True)
class SimulatorProcess:
    base_url: str  # what an integration's credentials hold, e.g. http://127.0.0.1:PORT/kassanet/

    @property
    def control_url(self) -> str:
        return self.base_url.split("/kassanet/")[0] + "/_control/"


@contextmanager
def simulator(products: int, *, tables: int = 50) -> Iterator[SimulatorProcess]:
    """``python -m kassanet.simulator`` in a subprocess (encryption on, seed 1, free port)."""
    command = [
        sys.executable, "-m", "kassanet.simulator",
        "--port", "0",
        "--products", str(products),
        "--tables", str(tables),
        "--seed", "1",
        "--signature-key", KEY,
        "--encryption-token", TOKEN,
        "--encrypt",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield SimulatorProcess(match.group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """CPU model, cores, memory and Python version, for the tables."""
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu_model()} ({platform.machine()}), {psutil.cpu_count()} cores, "
        f"{memory:.0f} GiB RAM, Python {platform.python_version()}"
    )


def today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"


class PeakRss:
    """Samples the RSS of a process tree in a thread and keeps the peak (bytes)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._interval = interval

    def sample(self) -> int:
        total = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (inclusive method, as the tables report them)."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


def verdict(value: float, target: float) -> str:
    return "meets" if value <= target else "MISSES"


def markdown_table(rows: Rows, header: tuple[str, str] = ("measure", "value")) -> str:
    return "\n".join(
        [
            f"| {header[0]} | {header[1]} |",
            "| --- | --- |",
            *(f"| {name} | {value} |" for name, value in rows),
        ]
    )


def write_section(marker: str, section: str, doc: Path = DOC, *, first: bool = False) -> None:
    """Replace the ``<!-- bench:MARKER -->`` block of docs/performance.md; a new block goes
    at the end, or right under the title with ``first``."""
    begin, end = f"<!-- bench:{marker} -->", f"<!-- /bench:{marker} -->"
    text = doc.read_text() if doc.exists() else "# Performance\n"
    block = f"{begin}\n{section}\n{end}"
    if begin in text and end in text:
        start, stop = text.index(begin), text.index(end) + len(end)
        text = text[:start] + block + text[stop:]
    elif first:
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{block}\n\n{rest.lstrip()}"
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark has: ``--write`` and ``--json``."""
    result = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    result.add_argument("--write", action="store_true", help="update docs/performance.md")
    result.add_argument("--json", type=Path, help="save the raw figures to this file")
    return result


def report(
    args: argparse.Namespace,
    rows: Rows,
    *,
    marker: str,
    section: str,
    figures: dict[str, Any],
) -> None:
    """Print the rows; with ``--write`` update the doc section, with ``--json`` save figures."""
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.write:
        write_section(marker, section)
        print(f"updated {DOC.relative_to(ROOT)} ({marker})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
