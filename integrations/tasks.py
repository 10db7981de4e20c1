"""The integrations app's Celery tasks."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from celery import shared_task

from integrations.scheduler import DailySyncScheduler


@shared_task(name="RunDueKassanetSyncsJob", time_limit=55, soft_time_limit=50)
def run_due_kassanet_syncs_job() -> dict[str, int]:
    """Start every daily menu sync that is due (every minute: integrations/schedules.py).

    Safe to run twice or concurrently: each due sync is claimed with a conditional update.
    """
    runs = DailySyncScheduler().run_due(datetime.now(UTC))
    return dict(Counter(run.outcome for run in runs))
