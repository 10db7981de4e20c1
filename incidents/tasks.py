"""Celery tasks of the incidents app (queue `default`)."""

from __future__ import annotations

from dataclasses import asdict

from celery import Task, shared_task

from incidents import detection, notify
from upvendo.celery import QUEUE_DEFAULT


@shared_task(name="CheckIncidentsJob", time_limit=55, soft_time_limit=50)
def check_incidents_job() -> dict[str, int]:
    """Time-based incidents and resolutions (every ALERT_CHECK_SECONDS: schedules.py)."""
    return asdict(detection.check())


@shared_task(bind=True, name="DeliverNotificationJob")
def deliver_notification_job(self: Task, delivery_id: str) -> None:
    """Attempt one stored delivery; retried with capped exponential backoff."""
    retry_in = notify.deliver(delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in, max_retries=None, queue=QUEUE_DEFAULT)


@shared_task(name="HeartbeatKassanetConnectionJob", time_limit=60, soft_time_limit=50)
def heartbeat_connection_job(integration_id: str) -> bool | None:
    """The connection test of a connected register (CheckIncidentsJob's heartbeat)."""
    from integrations.repository import IntegrationRepository
    from integrations.services import get_service

    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None or not integration.connected:
        return None
    return get_service(integration.provider).test_connection(integration).connected
