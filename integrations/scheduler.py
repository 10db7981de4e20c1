"""The daily menu sync's scheduler: starts the syncs that are due, each exactly once.

`RunDueKassanetSyncsJob` (integrations/tasks.py) runs `DailySyncScheduler.run_due` every
minute (integrations/schedules.py); the time arithmetic is in integrations/schedule.py and the
rules are in docs/schedule.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.repository import Integration, IntegrationRepository
from integrations.schedule import sync_time_settings
from integrations.services import get_service
from locations.repository import LocationRepository
from menus.importer import ImportInProgressError

logger = logging.getLogger(__name__)

LOG_EVENT = "daily_sync"


@dataclass(frozen=True)
class ScheduledRun:
    """What one tick did with one due integration."""

    integration_id: str
    outcome: str  # one of the OUTCOME_* values
    next_run_time: datetime | None = None
    run_id: str | None = None


OUTCOME_STARTED = "started"
OUTCOME_ALREADY_RUNNING = "already_running"  # claimed, but an import was still running
OUTCOME_TAKEN = "taken"  # another scheduler claimed it first, or the schedule changed
OUTCOME_UNSCHEDULED = "unscheduled"  # no sync time or no location any more
OUTCOME_START_FAILED = "start_failed"  # could not enqueue; the run is due again next tick


class DailySyncScheduler:
    """Starts the daily menu syncs that are due; what the every-minute beat task runs.

    Each due integration is claimed by advancing `next_run_time` from the value it was read
    with to the next local occurrence after now, in one conditional update. Only one of
    several schedulers (two beat processes by mistake, a redelivered tick) wins that update,
    so each sync starts once; and however many days a sync was missed (downtime), it runs
    once and is then scheduled for its next local time.
    """

    def __init__(
        self,
        integrations: IntegrationRepository | None = None,
        locations: LocationRepository | None = None,
    ) -> None:
        self.integrations = integrations or IntegrationRepository()
        self.locations = locations or LocationRepository()

    def run_due(self, now: datetime) -> list[ScheduledRun]:
        return [self._run(integration, now) for integration in self.integrations.list_due_runs(now)]

    def _run(self, integration: Integration, now: datetime) -> ScheduledRun:
        due: datetime = integration.settings["next_run_time"]
        schedule = self._next_schedule(integration, now)
        if not self.integrations.claim_due_run(integration.id, due, **schedule):
            return ScheduledRun(integration.id, OUTCOME_TAKEN)
        next_run_time = schedule["next_run_time"]
        if next_run_time is None:
            logger.warning("Integration %s has no daily sync to schedule any more", integration.id)
            return ScheduledRun(integration.id, OUTCOME_UNSCHEDULED)
        service = get_service(integration.provider)
        try:
            run_id = service.import_menu(integration, trigger="daily")  # obeys the guard
        except ImportInProgressError:
            self.integrations.append_log(
                integration.id,
                "warning",
                LOG_EVENT,
                "Daily sync skipped: a menu import was already running.",
            )
            return ScheduledRun(integration.id, OUTCOME_ALREADY_RUNNING, next_run_time)
        except Exception:
            # Give the run back so that the next tick tries again (unless the schedule was
            # changed meanwhile).
            self.integrations.claim_due_run(
                integration.id,
                next_run_time,
                next_run_time=due,
                sync_time=integration.settings.get("sync_time"),
            )
            logger.exception("Daily sync of integration %s could not start", integration.id)
            return ScheduledRun(integration.id, OUTCOME_START_FAILED, due)
        self.integrations.append_log(
            integration.id, "info", LOG_EVENT, "Daily sync started.", run_id=run_id
        )
        return ScheduledRun(integration.id, OUTCOME_STARTED, next_run_time, run_id)

    def _next_schedule(self, integration: Integration, now: datetime) -> dict[str, Any]:
        sync_time_local = integration.settings.get("sync_time_local")
        location = self.locations.get(integration.location_id)
        if sync_time_local is None or location is None:
            return {"next_run_time": None}
        schedule = sync_time_settings(sync_time_local, location.timezone, now)
        del schedule["sync_time_local"]  # unchanged; the claim only moves the UTC values
        return schedule
