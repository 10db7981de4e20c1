"""When incidents open and resolve.

Event-driven (signal receivers, registered in `IncidentsConfig.ready`):
- `connection_changed`: a disconnection starts a watch (since when); a connection ends it and
  resolves `register_disconnected` and `credentials_rejected`;
- `register_error` with HTTP 401: opens `credentials_rejected`;
- `push_failed`: opens `order_failed` (one incident for any number of failing orders);
- `sync_finished`: an error opens `menu_sync_failed` (and `credentials_rejected` on a 401), a
  success resolves both.

Time-based, in `check(now)` (`CheckIncidentsJob`, every ALERT_CHECK_SECONDS):
- a watch older than ALERT_DISCONNECTED_MINUTES opens `register_disconnected`;
- orders kept with `need_requeue` longer than ALERT_ORDER_WAITING_MINUTES open `order_waiting`;
- resolutions that need a look at the data: `order_waiting` once nothing waits, `order_failed`
  once the location has no failed order left, `register_disconnected` once connected (a
  safety net for a missed signal);
- deliveries a lost task left behind are enqueued again.

Every receiver is called with `send_robust`: an exception here is logged by Django and never
breaks an order push, a connection test or an import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from incidents import kinds as K
from incidents.notify import enqueue_delivery, notify_incident
from incidents.repository import (
    DeliveryRepository,
    Incident,
    IncidentRepository,
    Opened,
    WatchRepository,
)
from integrations.repository import CONNECTED, DISCONNECTED, NOT_TESTED, IntegrationRepository
from locations.repository import LocationRepository
from upvendo.logging import redact
from upvendo.mongo import get_db

logger = logging.getLogger(__name__)

CREDENTIALS_STATUS = 401
DELIVERY_STALL = timedelta(minutes=2)


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- opening and resolving ------------------------------------------------------------------


def open_incident(
    kind: str,
    location_id: str,
    message: str,
    *,
    provider: str | None = None,
    integration_id: str | None = None,
    data: dict[str, Any] | None = None,
    sample: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Opened | None:
    """Open the location's incident of `kind` (notifying once) or count one more occurrence.

    None when the location no longer exists."""
    location = LocationRepository().get(location_id)
    if location is None:
        return None
    now = now or utcnow()
    opened = IncidentRepository().open(
        vendor_id=location.vendor_id,
        location_id=location_id,
        location_name=location.name,
        kind=kind,
        title=K.KINDS[kind].title,
        message=redact(message),
        now=now,
        provider=provider,
        integration_id=integration_id,
        data=data,
        sample=sample,
    )
    if opened.new:
        logger.warning("Incident opened: %s at location %s: %s", kind, location_id, message)
        notify_incident(opened.incident, resolved=False, now=now)
    return opened


def resolve_incident(
    kind: str, location_id: str, resolution: str, *, now: datetime | None = None
) -> Incident | None:
    """Resolve the location's open incident of `kind` (notifying once), if there is one."""
    now = now or utcnow()
    resolved = IncidentRepository().resolve(location_id, kind, now=now, resolution=resolution)
    if resolved is not None:
        logger.info("Incident resolved: %s at location %s: %s", kind, location_id, resolution)
        notify_incident(resolved, resolved=True, now=now)
    return resolved


def menu_sync_needs_review(
    location_id: str, provider: str, integration_id: str, message: str
) -> Opened | None:
    """For the menu import's review hold (when it exists): open `menu_sync_needs_review`.
    Resolve it with `resolve_incident(MENU_SYNC_NEEDS_REVIEW, location_id, ...)`."""
    return open_incident(
        K.MENU_SYNC_NEEDS_REVIEW,
        location_id,
        message,
        provider=provider,
        integration_id=integration_id,
    )


# -- signal receivers -----------------------------------------------------------------------


def on_connection_changed(
    sender: Any,
    *,
    integration_id: str,
    location_id: str,
    provider: str,
    status: str,
    previous: str | None,
    message: str,
    **kwargs: Any,
) -> None:
    watches = WatchRepository()
    if status == DISCONNECTED:
        watches.disconnected(integration_id, location_id, provider, utcnow())
        return
    if status == CONNECTED:
        watches.connected(integration_id)
        resolve_incident(K.REGISTER_DISCONNECTED, location_id, f"Reconnected: {message}")
        resolve_incident(
            K.CREDENTIALS_REJECTED,
            location_id,
            f"The register accepts our credentials again: {message}",
        )


def on_register_error(sender: Any, *, integration_id: str, error: Any, **kwargs: Any) -> None:
    if getattr(error, "status_code", None) != CREDENTIALS_STATUS:
        return
    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None:
        return
    _credentials_rejected(
        integration.location_id, integration.provider, integration.id, error.message
    )


def _credentials_rejected(
    location_id: str, provider: str, integration_id: str, reason: str
) -> None:
    open_incident(
        K.CREDENTIALS_REJECTED,
        location_id,
        f"The {provider} register refused our credentials (HTTP 401): {reason}. "
        "Check the signature key and the register's clock, then test the connection.",
        provider=provider,
        integration_id=integration_id,
    )


def on_push_failed(
    sender: Any, *, transaction: Any, code: str | None, message: str, **kwargs: Any
) -> None:
    push = transaction.push
    open_incident(
        K.ORDER_FAILED,
        transaction.location_id,
        f"An order could not be sent to the register: {message}",
        provider=push.provider if push else None,
        integration_id=push.integration_id if push else None,
        data={"transaction_id": transaction.id, "errCode": code, "errMessage": redact(message)},
        sample={"at": utcnow(), "transaction_id": transaction.id, "errCode": code},
    )


def on_sync_finished(
    sender: Any,
    *,
    integration_id: str,
    status: str,
    message: str,
    details: dict[str, Any],
    **kwargs: Any,
) -> None:
    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None:
        return
    location_id, provider = integration.location_id, integration.provider
    if status == "success":
        resolve_incident(K.MENU_SYNC_FAILED, location_id, f"The menu sync succeeded: {message}")
        resolve_incident(
            K.CREDENTIALS_REJECTED, location_id, "The register accepts our credentials again."
        )
        return
    open_incident(
        K.MENU_SYNC_FAILED,
        location_id,
        message,
        provider=provider,
        integration_id=integration_id,
        data={"run_id": details.get("run_id"), "stage": details.get("stage")},
    )
    error = details.get("error") or {}
    if error.get("status_code") == CREDENTIALS_STATUS:
        _credentials_rejected(location_id, provider, integration_id, message)


# -- the periodic check ---------------------------------------------------------------------


@dataclass
class CheckResult:
    opened: int = 0
    resolved: int = 0
    requeued_deliveries: int = 0
    heartbeats: int = 0


def check(now: datetime | None = None) -> CheckResult:
    now = now or utcnow()
    result = CheckResult()
    result.heartbeats = _heartbeat(now)
    _check_disconnected(now, result)
    _check_waiting(now, result)
    _check_failed(now, result)
    for delivery_id in DeliveryRepository().due(before=now - DELIVERY_STALL, now=now):
        enqueue_delivery(delivery_id)
        result.requeued_deliveries += 1
    return result


def _heartbeat(now: datetime) -> int:
    """Re-test connected registers not heard from for ALERT_HEARTBEAT_MINUTES, so a register
    that goes offline while no order is pushed is noticed (beat re-tests disconnected ones)."""
    minutes = settings.ALERT_HEARTBEAT_MINUTES
    if minutes <= 0:
        return 0
    from incidents.tasks import heartbeat_connection_job
    from upvendo.celery import QUEUE_CONNECTION_TESTS

    stale = now - timedelta(minutes=minutes)
    count = 0
    for integration in IntegrationRepository().list_by_connection_status(CONNECTED):
        updated = integration.connection.get("updated_at")
        if updated is None or updated <= stale:
            try:
                heartbeat_connection_job.apply_async(
                    (integration.id,),
                    queue=QUEUE_CONNECTION_TESTS,  # never on the queues that carry order pushes
                    expires=max(30, minutes * 60),
                )
            except Exception:
                logger.warning("Heartbeat of integration %s not enqueued", integration.id)
                continue
            count += 1
    return count


def _check_disconnected(now: datetime, result: CheckResult) -> None:
    integrations = IntegrationRepository()
    watches = WatchRepository()
    threshold = timedelta(minutes=settings.ALERT_DISCONNECTED_MINUTES)
    disconnected = {i.id: i for i in integrations.list_by_connection_status(DISCONNECTED)}
    already = {i.location_id for i in IncidentRepository().list_open(K.REGISTER_DISCONNECTED)}
    for integration in disconnected.values():
        if integration.connection.get("message") == NOT_TESTED:
            continue  # saved, never tested: not an outage
        since = watches.disconnected(
            integration.id, integration.location_id, integration.provider, now
        )
        if integration.location_id not in already and now - since >= threshold:
            minutes = (now - since).total_seconds() / 60
            opened = open_incident(
                K.REGISTER_DISCONNECTED,
                integration.location_id,
                f"The {integration.provider} register has been unreachable for "
                f"{minutes:.0f} min (since {since:%Y-%m-%d %H:%M} UTC): "
                f"{integration.connection.get('message', '')}",
                provider=integration.provider,
                integration_id=integration.id,
                data={"disconnected_since": since.isoformat()},
                now=now,
            )
            result.opened += bool(opened and opened.new)
    for watch in watches.all():
        if watch["_id"] not in disconnected:
            watches.connected(watch["_id"])
    for incident in IncidentRepository().list_open(K.REGISTER_DISCONNECTED):
        if incident.integration_id not in disconnected:
            current = integrations.get_by_id(incident.integration_id or "")
            reason = "Reconnected." if current else "The integration was removed."
            if resolve_incident(K.REGISTER_DISCONNECTED, incident.location_id, reason, now=now):
                result.resolved += 1


def _check_waiting(now: datetime, result: CheckResult) -> None:
    transactions = get_db()["transactions"]
    before = now - timedelta(minutes=settings.ALERT_ORDER_WAITING_MINUTES)
    pipeline: list[dict[str, Any]] = [
        {"$match": {"pos_status": "need_requeue", "pos_due_at": {"$lte": before}}},
        {
            "$group": {
                "_id": "$location_id",
                "count": {"$sum": 1},
                "oldest": {"$min": "$pos_due_at"},
                "provider": {"$first": "$pos_provider"},
                "integration_id": {"$first": "$pos_integration_id"},
            }
        },
    ]
    waiting = {doc["_id"]: doc for doc in transactions.aggregate(pipeline)}
    already = {i.location_id for i in IncidentRepository().list_open(K.ORDER_WAITING)}
    for location_id, doc in waiting.items():
        if location_id in already:
            continue
        minutes = (now - doc["oldest"]).total_seconds() / 60
        opened = open_incident(
            K.ORDER_WAITING,
            location_id,
            f"{doc['count']} order(s) have been waiting for the register for more than "
            f"{settings.ALERT_ORDER_WAITING_MINUTES:g} min (the oldest {minutes:.0f} min); "
            "they are sent when the register answers again.",
            provider=doc.get("provider"),
            integration_id=doc.get("integration_id"),
            data={"waiting_orders": doc["count"], "oldest_since": doc["oldest"].isoformat()},
            now=now,
        )
        result.opened += bool(opened and opened.new)
    for incident in IncidentRepository().list_open(K.ORDER_WAITING):
        still = transactions.find_one(
            {"location_id": incident.location_id, "pos_status": "need_requeue"}, {"_id": 1}
        )
        if still is None and resolve_incident(
            K.ORDER_WAITING, incident.location_id, "No order is waiting any more.", now=now
        ):
            result.resolved += 1


def _check_failed(now: datetime, result: CheckResult) -> None:
    transactions = get_db()["transactions"]
    for incident in IncidentRepository().list_open(K.ORDER_FAILED):
        # The orders that failed since the incident opened (older ones are not its concern).
        still = transactions.find_one(
            {
                "location_id": incident.location_id,
                "pos_status": "failed",
                "updated_at": {"$gte": incident.opened_at},
            },
            {"_id": 1},
        )
        if still is None and resolve_incident(
            K.ORDER_FAILED,
            incident.location_id,
            "Every order that failed was retried successfully.",
            now=now,
        ):
            result.resolved += 1
