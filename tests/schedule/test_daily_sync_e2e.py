"""End to end: a real celery beat (database scheduler) and a real worker start a due daily
sync, which imports the simulator's menu over HTTP, once."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.repository import IntegrationRepository
from integrations.schedule import sync_time_settings
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from tests.e2e_support import ROOT, wait_for
from tests.menus.support import connect, fixture_catalog
from tests.orders.e2e_stack import CeleryStack

pytestmark = pytest.mark.e2e

# ensure_schedules registers the tick every 60 s; here it ticks every second (save() tells the
# running beat that its schedule changed).
TICK_EVERY_SECOND = """
from django_celery_beat.models import IntervalSchedule, PeriodicTask
every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
task = PeriodicTask.objects.get(task="RunDueKassanetSyncsJob")
task.interval = every_second
task.save()
"""


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with start_simulator(products=1, tables=0) as handle:
        handle.set_catalog(fixture_catalog())
        yield handle


@pytest.fixture
def stack(settings: Any) -> Iterator[CeleryStack]:
    """Beat (database scheduler) and workers for `default` (the tick) and `menu-import`."""
    env = {"MONGODB_DB": settings.MONGODB_DB, "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX}
    with tempfile.TemporaryDirectory(prefix="schedule-beat-") as tmp:
        stack = CeleryStack(env, beat_db=Path(tmp) / "beat.sqlite3")
        try:
            stack.start_beat()
            manage = [sys.executable, "manage.py", "shell", "-c", TICK_EVERY_SECOND]
            subprocess.run(manage, cwd=ROOT, env=stack.env, check=True)
            stack.start_workers([("default", 1), ("menu-import", 1)])
            yield stack
        finally:
            stack.stop()


def test_beat_starts_a_missed_daily_sync_once_and_it_imports_the_menu(
    location: Location, sim: SimulatorHandle, stack: CeleryStack
) -> None:
    # Given a 06:00 Brussels sync whose run was due two days ago (the scheduler was down)
    integration = connect(location, sim)
    repo = IntegrationRepository()
    started = datetime.now(UTC)
    repo.update_settings(
        integration.id,
        **sync_time_settings("06:00", location.timezone, started - timedelta(days=2)),
    )

    # When beat ticks (every second) and the worker runs what it sends
    def finished() -> dict[str, Any] | None:
        current = repo.get_by_id(integration.id)
        assert current is not None
        status = current.sync_status
        return status if status.get("status") in {"success", "error"} else None

    status = wait_for(
        finished,
        timeout=90,
        interval=0.2,
        what=f"the daily sync to finish\n{stack.logs()}",
    )

    # Then the import succeeded, ran once, and the next run is 06:00 Brussels after now
    assert status["status"] == "success", status["message"]
    assert status["message"].startswith("Menu imported: 4 items created")
    after = repo.get_by_id(integration.id)
    assert after is not None
    next_run = after.settings["next_run_time"]
    brussels = next_run.astimezone(ZoneInfo("Europe/Brussels"))
    assert brussels.strftime("%H:%M") == "06:00"
    assert started < next_run <= started + timedelta(days=1)
    assert after.settings["sync_time"] == next_run.strftime("%H:%M")
    # a few more ticks change nothing
    assert stack.beat is not None
    beat = stack.beat
    ticks = beat.log().count("RunDueKassanetSyncsJob")
    wait_for(
        lambda: beat.log().count("RunDueKassanetSyncsJob") >= ticks + 2,
        timeout=10,
        what="two more ticks",
    )
    assert sim.state()["counters"]["GetAllProducts"] == 1
    daily = [e.message for e in repo.logs(integration.id) if e.event == "daily_sync"]
    assert daily == ["Daily sync started."]
