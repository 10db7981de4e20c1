"""Time-of-day conversions for the daily menu sync.

The backoffice enters `sync_time` as "HH:mm" in the location's timezone; it is stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def parse_hhmm(value: str) -> time:
    """'07:30' -> time(7, 30); ValueError unless exactly two-digit hours and minutes."""
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError("Use HH:mm, e.g. 07:30.")
    hours, minutes = int(value[:2]), int(value[3:])
    if hours > 23 or minutes > 59:
        raise ValueError("Use HH:mm with hours 00-23 and minutes 00-59.")
    return time(hours, minutes)


def local_to_utc_hhmm(hhmm: str, tz: str, on_date: date) -> str:
    """The UTC "HH:mm" of the local time `hhmm` in timezone `tz` on `on_date`.

    A local time that does not exist that day (spring forward) or exists twice (fall back) is
    read with `fold=0`, i.e. with the offset in force before the change.
    """
    local = datetime.combine(on_date, parse_hhmm(hhmm), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).strftime("%H:%M")
