"""The checklist as text (one line per check) or as JSON (one object per line)."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

from kassanet.conformance._checks import CheckResult, Status, Target, TestOrder

__all__ = ["render_json", "render_text", "summary"]

_WIDTH = 100
_INDENT = " " * 13


def _wrap(text: str, first: str) -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=first, subsequent_indent=_INDENT, break_on_hyphens=False
    ) or [first.rstrip()]


def header(target: Target, order: TestOrder | None) -> str:
    flag = "on" if target.enable_encryption else "off"
    return f"Kassanet conformance check of {target.display_url} (encryption {flag})"


def summary(results: list[CheckResult]) -> str:
    counts = Counter(r.status for r in results)
    failed = counts[Status.FAILED]
    verdict = (
        "not ready: fix the failed checks above, then run the kit again"
        if failed
        else "nothing failed"
    )
    return (
        f"{counts[Status.PASSED]} passed, {counts[Status.WARNING]} warning(s), {failed} failed, "
        f"{counts[Status.SKIPPED]} skipped: {verdict}."
    )


def render_text(results: list[CheckResult]) -> list[str]:
    """One line per check (wrapped), then what to do and information, indented."""
    lines: list[str] = []
    for result in results:
        lines += _wrap(f"{result.title}: {result.message}", f"{result.number}. {result.status:<8} ")
        if result.action and result.status is not Status.PASSED:
            lines += _wrap(result.action, _INDENT + "What to do: ")
        for info in result.info:
            lines += _wrap(info, _INDENT + "info: ")
    return lines


def render_json(results: list[CheckResult]) -> list[str]:
    """One JSON object per check, one per line (JSON Lines)."""
    return [json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True) for r in results]
