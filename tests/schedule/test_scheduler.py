"""The every-minute scheduler: due syncs start once, at their local time, whatever happens.

Real MongoDB and the real Redis broker; the menu import's chain is enqueued (not run), so
each test reads exactly what was sent to the `menu-import` queue.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.repository import Integration, IntegrationRepository
from integrations.scheduler import (
    OUTCOME_ALREADY_RUNNING,
    OUTCOME_STARTED,
    OUTCOME_TAKEN,
    OUTCOME_UNSCHEDULED,
    DailySyncScheduler,
    ScheduledRun,
)
from integrations.services import HendrickxService
from locations.repository import Location
from tests.schedule.conftest import CREDENTIALS, Broker


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def connect(location: Location, sync_time: str | None, now: datetime) -> Integration:
    return HendrickxService().connect(location, CREDENTIALS, sync_time, now=now)


def reload(integration: Integration) -> Integration:
    current = IntegrationRepository().get_by_id(integration.id)
    assert current is not None
    return current


def chain_of(run_id: str, integration: Integration) -> tuple[str, str]:
    return ("ImportKassanetMenuJob", repr((integration.id, run_id)))


def log_messages(integration: Integration, event: str = "daily_sync") -> list[str]:
    return [e.message for e in IntegrationRepository().logs(integration.id) if e.event == event]


def test_a_due_sync_starts_and_is_rescheduled_for_the_next_local_time(
    location: Location, broker: Broker
) -> None:
    # Given a 06:00 Brussels sync set the day before spring forward
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))
    assert integration.settings["next_run_time"] == utc(2026, 3, 29, 4)  # 06:00 CEST

    # When the scheduler ticks 30 s after it is due
    runs = DailySyncScheduler().run_due(utc(2026, 3, 29, 4, 0, 30))

    # Then the import started once and the next run is 06:00 local the next day
    assert len(runs) == 1
    run = runs[0]
    assert (run.outcome, run.next_run_time) == (OUTCOME_STARTED, utc(2026, 3, 30, 4))
    after = reload(integration)
    assert after.settings["next_run_time"] == utc(2026, 3, 30, 4)
    assert after.settings["sync_time"] == "04:00"
    assert after.settings["sync_time_local"] == "06:00"
    assert after.sync_status["status"] == "in_progress"
    assert after.sync_status["run_id"] == run.run_id
    assert broker.queued() == [chain_of(run.run_id or "", integration)]
    assert log_messages(integration) == ["Daily sync started."]


def test_nothing_starts_before_the_sync_time(location: Location, broker: Broker) -> None:
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))

    runs = DailySyncScheduler().run_due(utc(2026, 3, 29, 3, 59, 59))

    assert runs == []
    assert reload(integration).settings["next_run_time"] == utc(2026, 3, 29, 4)
    assert broker.queued() == []


def test_a_sync_missed_for_days_runs_once_then_at_its_next_local_time(
    location: Location, broker: Broker
) -> None:
    # Given a 06:00 sync last scheduled in winter (05:00 UTC on 2026-03-20) ...
    integration = connect(location, "06:00", now=utc(2026, 3, 19, 12))
    assert integration.settings["next_run_time"] == utc(2026, 3, 20, 5)

    # ... and a scheduler that was down until after the change to summer time
    first = DailySyncScheduler().run_due(utc(2026, 3, 31, 10, 0))
    again = DailySyncScheduler().run_due(utc(2026, 3, 31, 10, 1))

    # Then the missed sync ran once, and the next is 06:00 CEST tomorrow
    assert [r.outcome for r in first] == [OUTCOME_STARTED]
    assert again == []
    after = reload(integration)
    assert after.settings["next_run_time"] == utc(2026, 4, 1, 4)
    assert after.settings["sync_time"] == "04:00"
    assert len(broker.queued()) == 1


class RacingRepository(IntegrationRepository):
    """Lets every scheduler read the due integrations before any of them claims one."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    def list_due_runs(self, now: datetime, limit: int = 500) -> list[Integration]:
        due = super().list_due_runs(now, limit)
        self.barrier.wait(timeout=10)
        return due


@pytest.mark.parametrize("schedulers", [2, 4])
def test_schedulers_racing_for_the_same_due_sync_start_it_once(
    location: Location, broker: Broker, schedulers: int
) -> None:
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))
    barrier = threading.Barrier(schedulers)
    results: list[list[ScheduledRun]] = []
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            scheduler = DailySyncScheduler(integrations=RacingRepository(barrier))
            results.append(scheduler.run_due(utc(2026, 3, 29, 4, 0, 30)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=tick) for _ in range(schedulers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    outcomes = sorted(run.outcome for runs in results for run in runs)
    assert outcomes == sorted([OUTCOME_STARTED] + [OUTCOME_TAKEN] * (schedulers - 1))
    started = next(run for runs in results for run in runs if run.outcome == OUTCOME_STARTED)
    assert broker.queued() == [chain_of(started.run_id or "", integration)]
    assert reload(integration).settings["next_run_time"] == utc(2026, 3, 30, 4)
    assert log_messages(integration) == ["Daily sync started."]


def test_a_due_sync_is_skipped_while_an_import_runs_and_scheduled_for_tomorrow(
    location: Location, broker: Broker
) -> None:
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))
    assert IntegrationRepository().claim_sync(integration.id, "manual-run")

    runs = DailySyncScheduler().run_due(utc(2026, 3, 29, 4, 0, 30))

    assert [(r.outcome, r.next_run_time) for r in runs] == [
        (OUTCOME_ALREADY_RUNNING, utc(2026, 3, 30, 4))
    ]
    after = reload(integration)
    assert after.sync_status["run_id"] == "manual-run"
    assert after.settings["next_run_time"] == utc(2026, 3, 30, 4)
    assert broker.queued() == []
    assert log_messages(integration) == ["Daily sync skipped: a menu import was already running."]


def test_a_changed_sync_time_takes_effect_at_the_next_tick(
    location: Location, broker: Broker
) -> None:
    # Given a 06:00 sync, changed to 07:30 before it ran
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))
    changed = connect(location, "07:30", now=utc(2026, 3, 28, 13))
    assert changed.id == integration.id
    assert changed.settings["next_run_time"] == utc(2026, 3, 29, 5, 30)
    assert changed.settings["sync_time"] == "05:30"

    # When the scheduler ticks at the old time, then at the new one
    at_old_time = DailySyncScheduler().run_due(utc(2026, 3, 29, 4, 0, 30))
    at_new_time = DailySyncScheduler().run_due(utc(2026, 3, 29, 5, 30, 30))

    # Then only the new time starts a sync
    assert at_old_time == []
    assert [r.outcome for r in at_new_time] == [OUTCOME_STARTED]
    assert reload(integration).settings["next_run_time"] == utc(2026, 3, 30, 5, 30)
    assert len(broker.queued()) == 1


def test_a_cleared_sync_time_never_runs(location: Location, broker: Broker) -> None:
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))

    cleared = connect(location, None, now=utc(2026, 3, 28, 13))
    runs = DailySyncScheduler().run_due(utc(2026, 4, 30))

    assert {k: cleared.settings[k] for k in ("sync_time", "sync_time_local", "next_run_time")} == {
        "sync_time": None,
        "sync_time_local": None,
        "next_run_time": None,
    }
    assert runs == []
    assert reload(integration).sync_status == {}
    assert broker.queued() == []


def test_a_sync_time_changed_between_read_and_claim_is_left_alone(
    location: Location, broker: Broker
) -> None:
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))

    class ChangedMeanwhile(IntegrationRepository):
        def list_due_runs(self, now: datetime, limit: int = 500) -> list[Integration]:
            due = super().list_due_runs(now, limit)
            connect(location, "08:00", now=now)  # the user saves a new time right now
            return due

    runs = DailySyncScheduler(integrations=ChangedMeanwhile()).run_due(utc(2026, 3, 29, 4, 0, 30))

    assert [r.outcome for r in runs] == [OUTCOME_TAKEN]
    after = reload(integration)
    assert after.settings["next_run_time"] == utc(2026, 3, 29, 6)  # 08:00 CEST, not moved
    assert after.settings["sync_time_local"] == "08:00"
    assert broker.queued() == []


def test_the_sync_of_a_deleted_location_is_unscheduled(
    location: Location, broker: Broker, indexed_db: Any
) -> None:
    integration = connect(location, "06:00", now=utc(2026, 3, 28, 12))
    indexed_db["locations"].delete_one({})

    runs = DailySyncScheduler().run_due(utc(2026, 3, 29, 4, 0, 30))

    assert [r.outcome for r in runs] == [OUTCOME_UNSCHEDULED]
    assert reload(integration).settings["next_run_time"] is None
    assert broker.queued() == []


def test_the_due_query_uses_its_index(location: Location, indexed_db: Any) -> None:
    connect(location, "06:00", now=utc(2026, 3, 28, 12))

    plan = (
        indexed_db["integrations"]
        .find({"settings.next_run_time": {"$lte": utc(2026, 3, 29, 5)}})
        .explain()
    )

    assert "settings_next_run_time" in str(plan["queryPlanner"]["winningPlan"])
