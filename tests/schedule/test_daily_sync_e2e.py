"""End to end: a real celery beat (database scheduler) and a real worker start a due daily
sync, which imports the simulator's menu over HTTP, once."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
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
from tests.orders.e2e_stack import Process

pytestmark = pytest.mark.e2e

# ensure_schedules registers the tick every 60 s; beat here ticks every second.
CONFIGURE_BEAT = """
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from upvendo.schedules import ensure_schedules
ensure_schedules()
every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
assert PeriodicTask.objects.filter(task="RunDueKassanetSyncsJob").update(interval=every_second)
"""


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with start_simulator(products=1, tables=0) as handle:
        handle.set_catalog(fixture_catalog())
        yield handle


@pytest.fixture
def beat_and_worker(settings: Any) -> Iterator[list[Process]]:
    with tempfile.TemporaryDirectory(prefix="schedule-beat-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "upvendo.settings",
            "DJANGO_ENV": "test",
            "SERVICES_ENV_FILE": "/dev/null",
            "MONGODB_DB": settings.MONGODB_DB,
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CELERY_KEY_PREFIX": f"test-schedule-{uuid.uuid4().hex[:10]}:",
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'beat.sqlite3'}",
        }
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "shell", "-c", CONFIGURE_BEAT], cwd=ROOT, env=env, check=True)
        celery = [sys.executable, "-m", "celery", "-A", "upvendo"]
        worker = Process(
            "worker",
            [
                *celery,
                "worker",
                "-Q",
                "default,menu-import",
                "--concurrency",
                "2",
                "-P",
                "prefork",
                "-n",
                f"schedule-{uuid.uuid4().hex[:6]}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env,
        )
        beat = Process(
            "beat",
            [
                *celery,
                "beat",
                "-S",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--max-interval",
                "1",
                "--schedule",
                str(Path(tmp) / "beat-schedule"),
                "--loglevel",
                "INFO",
            ],
            env,
        )
        processes = [worker, beat]
        try:
            worker.wait_ready(" ready.")
            beat.wait_ready("beat: Starting")
            yield processes
        finally:
            for process in processes:
                process.stop()


def test_beat_starts_a_missed_daily_sync_once_and_it_imports_the_menu(
    location: Location, sim: SimulatorHandle, beat_and_worker: list[Process]
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
        what="the daily sync to finish\n" + "\n".join(p.log()[-3000:] for p in beat_and_worker),
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
    ticks = beat_and_worker[1].log().count("RunDueKassanetSyncsJob")
    wait_for(
        lambda: beat_and_worker[1].log().count("RunDueKassanetSyncsJob") >= ticks + 2,
        timeout=10,
        what="two more ticks",
    )
    assert sim.state()["counters"]["GetAllProducts"] == 1
    daily = [e.message for e in repo.logs(integration.id) if e.event == "daily_sync"]
    assert daily == ["Daily sync started."]
