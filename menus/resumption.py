"""Resumption of menu imports whose worker was lost (``ResumeStalledMenuImportsJob``).

A stage's message stays unacknowledged in Redis when its worker is SIGKILLed; Redis only
redelivers it after the visibility timeout (15 min by default, plus kombu's restore scan).
Meanwhile the integration says "in progress" and ``sync-menu`` answers 409. Like the order
push's stall resumption, beat finds in-progress imports whose progress
(``sync_status.updated_at``, moved at every stage start and step) is older than
``MENU_IMPORT_STALL_SECONDS`` — longer than a stage's hard time limit, so such a stage
cannot still be running — and re-enqueues the chain from the stage it was at, with the
same run id and the next generation (``sync_status.resumes``). The conditional claim makes
one resumer win; the generation makes every stage of the replaced chain (a later
redelivery) do nothing. After ``MENU_IMPORT_MAX_RESUMES`` resumptions the run fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.conf import settings

from integrations.services import get_service
from menus.importer import LOG_EVENT, STAGE_MENU, MenuImporter
from menus.repository import MenuImportStatusRepository, StalledImport

__all__ = ["Enqueue", "ImportResumer"]

logger = logging.getLogger(__name__)

STALLED_BATCH = 100


class Enqueue(Protocol):
    """:func:`menus.tasks.enqueue_menu_import`: sends the chain from ``from_stage``."""

    def __call__(
        self, integration_id: str, run_id: str, *, from_stage: str, resumes: int
    ) -> None: ...


class ImportResumer:
    def __init__(
        self,
        enqueue: Enqueue,
        *,
        status: MenuImportStatusRepository | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.enqueue = enqueue
        self.status = status or MenuImportStatusRepository()
        self.clock = clock

    def run(self) -> int:
        """Resume (or give up) every stalled import; returns how many this run handled."""
        handled = sum(self.resume(stalled) for stalled in self.stalled())
        if handled:
            logger.warning("Resumed or ended %d stalled menu import(s)", handled)
        return handled

    def stalled(self) -> list[StalledImport]:
        before = self.clock() - timedelta(seconds=settings.MENU_IMPORT_STALL_SECONDS)
        return self.status.stalled_imports(before=before, limit=STALLED_BATCH)

    def resume(self, stalled: StalledImport) -> bool:
        """Claim ``stalled`` and re-enqueue it from its stage; False if another resumer (or
        the run itself) moved it first."""
        stage = stalled.stage or STAGE_MENU
        attempt = stalled.resumes + 1
        limit = settings.MENU_IMPORT_MAX_RESUMES
        giving_up = attempt > limit
        label = stage.replace("_", " ")
        message = (
            f"Ending: the {label} stage stopped making progress."
            if giving_up
            else f"Resuming: the {label} stage stopped making progress ({attempt} of {limit})."
        )
        if not self.status.claim_resumption(stalled, now=self.clock(), message=message):
            return False
        integration = self.status.get_by_id(stalled.integration_id)
        if integration is None:  # deleted meanwhile
            return False
        importer = MenuImporter(get_service(stalled.provider))
        if giving_up:
            importer.give_up(integration, stalled.run_id, stage, stalls=attempt)
            return True
        self.status.append_log(
            integration.id,
            "warning",
            LOG_EVENT,
            f"The {label} stage stopped making progress (its worker was lost?); "
            f"resumed ({attempt} of {limit}).",
            run_id=stalled.run_id,
        )
        self.enqueue(integration.id, stalled.run_id, from_stage=stage, resumes=attempt)
        return True
