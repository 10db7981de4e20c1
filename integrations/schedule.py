"""The daily menu sync's clock: when, in UTC, a local "HH:mm" next happens.

The backoffice enters the sync time as "HH:mm" in the location's timezone. An integration
stores that entry (`settings.sync_time_local`), the UTC instant of its next run
(`settings.next_run_time`) and, as the domain asks, that run's UTC "HH:mm"
(`settings.sync_time`). The UTC values are derived, and recomputed from the local time and the
location's timezone every time `next_run_time` is, so 06:00 in Brussels stays 06:00 local in
winter (05:00 UTC) and in summer (04:00 UTC).

Days on which the clocks change (see docs/schedule.md):
- a local time that does not exist (spring forward) runs at the first valid minute after it,
  the moment the clocks jump: 02:30 on 2026-03-29 in Brussels runs at 03:00 local;
- a local time that happens twice (fall back) runs once, at its first occurrence.

Everything here is a pure function of its arguments (no clock, no database).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# A day that starts inside a long gap (Samoa skipped 2011-12-30 entirely) may resolve to the
# next day, so look a little further than tomorrow.
_DAYS_AHEAD = 3


def parse_hhmm(value: str) -> time:
    """'07:30' -> time(7, 30); ValueError unless exactly two-digit hours and minutes."""
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError("Use HH:mm, e.g. 07:30.")
    hours, minutes = int(value[:2]), int(value[3:])
    if hours > 23 or minutes > 59:
        raise ValueError("Use HH:mm with hours 00-23 and minutes 00-59.")
    return time(hours, minutes)


def occurrence(on_date: date, local_time: time, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the wall clock in `tz` shows `local_time` on `on_date`.

    Twice that day (fall back): the first time (PEP 495 `fold=0`). Never that day (spring
    forward): the moment the clocks jump over it, i.e. the first valid minute after it.
    """
    wall = datetime.combine(on_date, local_time)
    first = wall.replace(tzinfo=tz)
    if _shows(first.astimezone(UTC), wall, tz):
        return first.astimezone(UTC)
    # In a gap, fold=1 reads the wall time with the offset after the jump and fold=0 with the
    # offset before it, so the jump lies between the two readings. Find it to the second.
    before = int(wall.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    after = int(first.astimezone(UTC).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _shows(instant: datetime, wall: datetime, tz: ZoneInfo) -> bool:
    return instant.astimezone(tz).replace(tzinfo=None) == wall


def next_run_after(now_utc: datetime, sync_time_local: str, tz: str) -> datetime:
    """The first run strictly after `now_utc` of a daily sync at `sync_time_local` in `tz`.

    One run per local day, however long ago the previous one was due: a scheduler that was
    down for three days runs the missed sync once, then this gives the next one.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(tz)
    local_time = parse_hhmm(sync_time_local)
    today = now_utc.astimezone(zone).date()
    for days in range(-1, _DAYS_AHEAD):
        candidate = occurrence(today + timedelta(days=days), local_time, zone)
        if candidate > now_utc:
            return candidate
    raise AssertionError(f"no {sync_time_local} in {tz} within {_DAYS_AHEAD} days of {now_utc}")


def utc_hhmm(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%H:%M")


def local_to_utc_hhmm(hhmm: str, tz: str, on_date: date) -> str:
    """The UTC "HH:mm" at which the local `hhmm` in `tz` happens on `on_date`."""
    return utc_hhmm(occurrence(on_date, parse_hhmm(hhmm), ZoneInfo(tz)))


def sync_time_settings(sync_time_local: str | None, tz: str, now_utc: datetime) -> dict[str, Any]:
    """The integration settings for a daily sync at `sync_time_local` (None: no daily sync).

    What the connect endpoint writes when the sync time is set, changed or cleared; the
    scheduler picks the new `next_run_time` up at its next tick.
    """
    if sync_time_local is None:
        return {"sync_time_local": None, "sync_time": None, "next_run_time": None}
    next_run = next_run_after(now_utc, sync_time_local, tz)
    return {
        "sync_time_local": sync_time_local,
        "sync_time": utc_hhmm(next_run),
        "next_run_time": next_run,
    }
