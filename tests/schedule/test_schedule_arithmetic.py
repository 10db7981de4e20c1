"""When the daily sync runs: local wall-clock time kept across daylight-saving changes.

Europe/Brussels changes on the last Sundays of March and October (2026-03-29: 02:00 -> 03:00;
2026-10-25: 03:00 -> 02:00). Pacific/Auckland, UTC+12/+13, changes on 2026-04-05 (03:00 ->
02:00) and 2026-09-27 (02:00 -> 03:00). America/Los_Angeles on 2026-03-08 and 2026-11-01.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integrations.schedule import (
    local_to_utc_hhmm,
    next_run_after,
    parse_hhmm,
    sync_time_settings,
)

BRUSSELS = "Europe/Brussels"
AUCKLAND = "Pacific/Auckland"
LOS_ANGELES = "America/Los_Angeles"
SPRING_FORWARD = {
    BRUSSELS: date(2026, 3, 29),
    AUCKLAND: date(2026, 9, 27),
    LOS_ANGELES: date(2026, 3, 8),
}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    ("now", "sync_time", "expected"),
    [
        # Winter (CET, UTC+1) and summer (CEST, UTC+2): 06:00 stays 06:00 local.
        (utc(2026, 1, 15, 12), "06:00", utc(2026, 1, 16, 5)),
        (utc(2026, 7, 15, 12), "06:00", utc(2026, 7, 16, 4)),
        # Before today's run: today; at or after it: tomorrow.
        (utc(2026, 1, 16, 4, 59), "06:00", utc(2026, 1, 16, 5)),
        (utc(2026, 1, 16, 5), "06:00", utc(2026, 1, 17, 5)),
        # Spring forward, 2026-03-29: 06:00 is already summer time.
        (utc(2026, 3, 28, 12), "06:00", utc(2026, 3, 29, 4)),
        # 02:00-02:59 does not exist that day: the sync runs when the clocks jump, 03:00 CEST.
        (utc(2026, 3, 28, 12), "02:30", utc(2026, 3, 29, 1)),
        (utc(2026, 3, 28, 12), "02:00", utc(2026, 3, 29, 1)),
        (utc(2026, 3, 28, 12), "02:59", utc(2026, 3, 29, 1)),
        # ... and the next day back at 02:30 local.
        (utc(2026, 3, 29, 1), "02:30", utc(2026, 3, 30, 0, 30)),
        # Fall back, 2026-10-25: 02:30 happens twice; it runs at the first (CEST, 00:30 UTC).
        (utc(2026, 10, 24, 12), "02:30", utc(2026, 10, 25, 0, 30)),
        # Once it ran, the second 02:30 (CET, 01:30 UTC) is not another run: tomorrow's is next.
        (utc(2026, 10, 25, 0, 30), "02:30", utc(2026, 10, 26, 1, 30)),
        (utc(2026, 10, 25, 1, 0), "02:30", utc(2026, 10, 26, 1, 30)),
        (utc(2026, 10, 24, 12), "06:00", utc(2026, 10, 25, 5)),
        # Midnight and the last minute of the day.
        (utc(2026, 3, 28, 12), "00:00", utc(2026, 3, 28, 23)),
        (utc(2026, 10, 24, 12), "23:59", utc(2026, 10, 24, 21, 59)),
    ],
)
def test_next_run_in_brussels_keeps_local_time(
    now: datetime, sync_time: str, expected: datetime
) -> None:
    assert next_run_after(now, sync_time, BRUSSELS) == expected


@pytest.mark.parametrize(
    ("now", "sync_time", "expected", "expected_local"),
    [
        # NZST (UTC+12): a local morning is the previous UTC evening.
        (utc(2026, 6, 1, 12), "06:00", utc(2026, 6, 1, 18), "2026-06-02 06:00 NZST"),
        # NZDT (UTC+13).
        (utc(2026, 12, 1, 12), "06:00", utc(2026, 12, 1, 17), "2026-12-02 06:00 NZDT"),
        # 2026-09-27 02:00 -> 03:00 NZDT: 02:30 runs at 03:00, which is 14:00 UTC the day before.
        (utc(2026, 9, 26, 0), "02:30", utc(2026, 9, 26, 14), "2026-09-27 03:00 NZDT"),
        # 2026-04-05 03:00 NZDT -> 02:00 NZST: the first 02:30 is NZDT ...
        (utc(2026, 4, 4, 0), "02:30", utc(2026, 4, 4, 13, 30), "2026-04-05 02:30 NZDT"),
        # ... and the second is skipped.
        (utc(2026, 4, 4, 13, 30), "02:30", utc(2026, 4, 5, 14, 30), "2026-04-06 02:30 NZST"),
    ],
)
def test_next_run_in_auckland_keeps_local_time(
    now: datetime, sync_time: str, expected: datetime, expected_local: str
) -> None:
    run = next_run_after(now, sync_time, AUCKLAND)

    assert run == expected
    assert local(run, AUCKLAND) == expected_local


@pytest.mark.parametrize(
    ("now", "sync_time", "expected", "expected_local"),
    [
        # 2026-03-08 02:00 PST -> 03:00 PDT.
        (utc(2026, 3, 7, 20), "02:30", utc(2026, 3, 8, 10), "2026-03-08 03:00 PDT"),
        # A late-evening local time is the next UTC day.
        (utc(2026, 3, 7, 20), "23:30", utc(2026, 3, 8, 7, 30), "2026-03-07 23:30 PST"),
        (utc(2026, 3, 8, 20), "23:30", utc(2026, 3, 9, 6, 30), "2026-03-08 23:30 PDT"),
        # 2026-11-01 02:00 PDT -> 01:00 PST: 01:30 runs once, at the PDT one.
        (utc(2026, 10, 31, 20), "01:30", utc(2026, 11, 1, 8, 30), "2026-11-01 01:30 PDT"),
        (utc(2026, 11, 1, 8, 30), "01:30", utc(2026, 11, 2, 9, 30), "2026-11-02 01:30 PST"),
    ],
)
def test_next_run_in_los_angeles_keeps_local_time(
    now: datetime, sync_time: str, expected: datetime, expected_local: str
) -> None:
    run = next_run_after(now, sync_time, LOS_ANGELES)

    assert run == expected
    assert local(run, LOS_ANGELES) == expected_local


@pytest.mark.parametrize("tz", [BRUSSELS, AUCKLAND, LOS_ANGELES])
@pytest.mark.parametrize("sync_time", ["00:00", "01:30", "02:30", "06:00", "23:59"])
def test_a_year_of_runs_is_one_per_local_day_at_the_local_time(tz: str, sync_time: str) -> None:
    """Following next_run_after through 2026: 365 runs, each on its own local date, at
    `sync_time` local, except on a spring-forward day that skips it (then at the jump)."""
    zone = ZoneInfo(tz)
    wanted = parse_hhmm(sync_time)
    now = datetime(2026, 1, 1, tzinfo=zone).astimezone(UTC) - timedelta(seconds=1)
    runs = []
    while True:
        now = next_run_after(now, sync_time, tz)
        if now.astimezone(zone).year > 2026:
            break
        runs.append(now.astimezone(zone))

    assert [run.date() for run in runs] == [
        date(2026, 1, 1) + timedelta(days=n) for n in range(365)
    ]
    off_time = [(run.date(), run.strftime("%H:%M")) for run in runs if run.time() != wanted]
    # 02:30 is the only one of these times that the zone's spring-forward day skips; that
    # day it runs when the clocks jump from 02:00 to 03:00.
    assert off_time == ([(SPRING_FORWARD[tz], "03:00")] if sync_time == "02:30" else [])


def test_local_to_utc_hhmm_follows_the_date() -> None:
    assert local_to_utc_hhmm("06:00", BRUSSELS, date(2026, 1, 15)) == "05:00"
    assert local_to_utc_hhmm("06:00", BRUSSELS, date(2026, 7, 15)) == "04:00"
    assert local_to_utc_hhmm("02:30", BRUSSELS, date(2026, 3, 29)) == "01:00"
    assert local_to_utc_hhmm("02:30", BRUSSELS, date(2026, 10, 25)) == "00:30"


def test_sync_time_settings_schedule_the_next_run_in_utc() -> None:
    assert sync_time_settings("06:00", BRUSSELS, utc(2026, 3, 28, 12)) == {
        "sync_time_local": "06:00",
        "sync_time": "04:00",
        "next_run_time": utc(2026, 3, 29, 4),
    }


def test_clearing_the_sync_time_clears_the_schedule() -> None:
    assert sync_time_settings(None, BRUSSELS, utc(2026, 3, 28, 12)) == {
        "sync_time_local": None,
        "sync_time": None,
        "next_run_time": None,
    }


@pytest.mark.parametrize("value", ["6:00", "06:0", "24:00", "06:60", "0600", "ab:cd", ""])
def test_a_malformed_sync_time_is_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="HH:mm"):
        next_run_after(utc(2026, 1, 1), value, BRUSSELS)


def test_a_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run_after(datetime(2026, 1, 1, 12), "06:00", BRUSSELS)
