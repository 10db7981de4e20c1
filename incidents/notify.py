"""Notifications: one event per incident opening or resolution, one delivery per channel.

An event is the JSON body a webhook receives (docs/operations.md)::

    {"id", "type", "created", "location": {"id", "name"}, "provider", "data"}

`data.incident` says which incident and whether it is `open` or `resolved`; nothing secret is
ever in it (incident messages are built from redacted texts). Each delivery is stored first,
then attempted by `DeliverNotificationJob` on the `default` queue, with capped exponential
backoff up to NOTIFY_MAX_ATTEMPTS; `CheckIncidentsJob` re-enqueues any a lost task left.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId
from django.conf import settings
from django.core.mail import EmailMessage

from incidents.kinds import KINDS, TEST_EVENT, subscribed
from incidents.repository import (
    DELIVERED,
    FAILED,
    PENDING,
    Channel,
    ChannelRepository,
    Delivery,
    DeliveryRepository,
    Incident,
)
from integrations.credentials import cipher
from upvendo.logging import redact, register_secret

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Upvendo-Signature"
SECRET_PREFIX = "whsec_"
USER_AGENT = "Upvendo-Webhooks/1"
SEND_LEASE = timedelta(minutes=2)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


# -- secrets and signatures -----------------------------------------------------------------


def new_secret() -> tuple[str, str]:
    """A webhook signing secret and its encrypted stored form."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return secret, cipher().encrypt(secret.encode()).decode()


def reveal_secret(channel: Channel) -> str:
    assert channel.secret_token is not None
    secret = cipher().decrypt(channel.secret_token.encode()).decode()
    register_secret(secret)
    return secret


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (docs/operations.md has the same snippet)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp = int(parts.get("t", "0"))
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- events ---------------------------------------------------------------------------------


def incident_event(incident: Incident, *, resolved: bool, now: datetime) -> dict[str, Any]:
    kind = KINDS[incident.kind]
    return {
        "id": f"evt_{ObjectId()}",
        "type": kind.resolved if resolved else kind.opened,
        "created": _iso(now),
        "location": {"id": incident.location_id, "name": incident.location_name},
        "provider": incident.provider,
        "data": {
            "incident": {
                "id": incident.id,
                "kind": incident.kind,
                "state": "resolved" if resolved else "open",
                "title": incident.title,
                "message": incident.message,
                "opened_at": _iso(incident.opened_at),
                "resolved_at": _iso(incident.resolved_at),
                "resolution": incident.resolution,
                "occurrences": incident.occurrences,
            },
            **incident.data,
        },
    }


def test_event(channel: Channel, now: datetime) -> dict[str, Any]:
    return {
        "id": f"evt_{ObjectId()}",
        "type": TEST_EVENT,
        "created": _iso(now),
        "location": None,
        "provider": None,
        "data": {"message": "A test notification from Upvendo: this channel works."},
    }


def notify_incident(
    incident: Incident,
    *,
    resolved: bool,
    channels: ChannelRepository | None = None,
    deliveries: DeliveryRepository | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Store one delivery per subscribed channel of the vendor and enqueue them."""
    now = now or utcnow()
    channels = channels or ChannelRepository()
    deliveries = deliveries or DeliveryRepository()
    event = incident_event(incident, resolved=resolved, now=now)
    kind = KINDS[incident.kind]
    created = [
        deliveries.create(
            channel=channel,
            event_id=event["id"],
            event_type=event["type"],
            incident_id=incident.id,
            payload=event,
            now=now,
        ).id
        for channel in channels.list_for_vendor(incident.vendor_id)
        if subscribed(channel.events, kind)
    ]
    for delivery_id in created:
        enqueue_delivery(delivery_id)
    logger.info(
        "Incident %s (%s, location %s) %s: %d notification(s)",
        incident.id,
        incident.kind,
        incident.location_id,
        "resolved" if resolved else "opened",
        len(created),
    )
    return created


def enqueue_delivery(delivery_id: str, countdown: float | None = None) -> None:
    """Hand a stored delivery to the workers; a broker outage leaves it to CheckIncidentsJob."""
    from incidents.tasks import deliver_notification_job
    from upvendo.celery import QUEUE_DEFAULT

    try:
        deliver_notification_job.apply_async(
            (delivery_id,), queue=QUEUE_DEFAULT, countdown=countdown
        )
    except Exception:
        logger.warning("Delivery %s not enqueued; the periodic check will retry it", delivery_id)


# -- sending --------------------------------------------------------------------------------


def email_subject(event: dict[str, Any]) -> str:
    if event["type"] == TEST_EVENT:
        return "[Upvendo] Test notification"
    incident = event["data"]["incident"]
    state = "Resolved: " if incident["state"] == "resolved" else ""
    return f"[Upvendo] {event['location']['name']}: {state}{incident['title']}"


def email_body(event: dict[str, Any]) -> str:
    if event["type"] == TEST_EVENT:
        return str(event["data"]["message"]) + "\n"
    incident = event["data"]["incident"]
    lines = [
        f"Location: {event['location']['name']} ({event['location']['id']})",
        f"Register: {event['provider'] or '-'}",
        f"Event: {event['type']}",
        "",
        incident["message"],
        "",
        f"Opened: {incident['opened_at']}",
    ]
    if incident["state"] == "resolved":
        lines += [f"Resolved: {incident['resolved_at']}", f"Resolution: {incident['resolution']}"]
    lines += [f"Occurrences: {incident['occurrences']}", "", f"Event id: {event['id']}"]
    return "\n".join(lines) + "\n"


def send_email(address: str, event: dict[str, Any]) -> None:
    register_secret(settings.EMAIL_HOST_PASSWORD or None)  # an SMTP error never shows it
    message = EmailMessage(
        subject=email_subject(event),
        body=email_body(event),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"X-Upvendo-Event": event["type"], "X-Upvendo-Event-Id": event["id"]},
    )
    message.send(fail_silently=False)


def webhook_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def send_webhook(url: str, secret: str, event: dict[str, Any], delivery_id: str) -> None:
    body = webhook_body(event)
    response = httpx.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature(secret, int(time.time()), body),
            "X-Upvendo-Event": event["type"],
            "X-Upvendo-Delivery": delivery_id,
        },
        timeout=settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS,
        follow_redirects=False,
    )
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"the receiver answered HTTP {response.status_code}")


class DeliveryError(Exception):
    pass


def attempt(delivery: Delivery, channel: Channel | None) -> str | None:
    """Send once; None when delivered, else the reason (secrets redacted)."""
    if channel is None:
        return "the channel was deleted"
    try:
        if delivery.kind == "email":
            send_email(delivery.target, delivery.payload)
        else:
            send_webhook(delivery.target, reveal_secret(channel), delivery.payload, delivery.id)
    except DeliveryError as error:
        return str(error)
    except httpx.HTTPError as error:
        return redact(f"{type(error).__name__}: {error}") or type(error).__name__
    except Exception as error:  # smtplib, socket, ...: recorded, then retried
        return redact(f"{type(error).__name__}: {error}")
    return None


def backoff(attempts: int) -> float:
    return float(
        min(
            settings.NOTIFY_RETRY_MAX_SECONDS,
            settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempts - 1),
        )
    )


def deliver(
    delivery_id: str,
    *,
    deliveries: DeliveryRepository | None = None,
    channels: ChannelRepository | None = None,
    now: datetime | None = None,
) -> float | None:
    """Attempt one delivery; returns the seconds until its next attempt, or None when done
    (delivered, failed for good, or not ours to send)."""
    deliveries = deliveries or DeliveryRepository()
    channels = channels or ChannelRepository()
    now = now or utcnow()
    delivery = deliveries.claim(delivery_id, now=now, lease=SEND_LEASE)
    if delivery is None:
        return None
    error = attempt(delivery, channels.get(delivery.channel_id))
    done = utcnow()
    if error is None:
        deliveries.finish(delivery, now=done, status=DELIVERED)
        return None
    if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS or error == "the channel was deleted":
        deliveries.finish(delivery, now=done, status=FAILED, error=error)
        logger.warning("Delivery %s failed for good: %s", delivery.id, error)
        return None
    delay = backoff(delivery.attempts)
    deliveries.finish(
        delivery,
        now=done,
        status=PENDING,
        error=error,
        next_attempt_at=done + timedelta(seconds=delay),
    )
    logger.info(
        "Delivery %s attempt %d failed (%s); retry in %.0f s",
        delivery.id,
        delivery.attempts,
        error,
        delay,
    )
    return delay


def send_test(channel: Channel, deliveries: DeliveryRepository | None = None) -> Delivery:
    """Store a test delivery and attempt it once, now (the API's test button)."""
    deliveries = deliveries or DeliveryRepository()
    now = utcnow()
    event = test_event(channel, now)
    delivery = deliveries.create(
        channel=channel,
        event_id=event["id"],
        event_type=TEST_EVENT,
        incident_id=None,
        payload=event,
        now=now,
    )
    claimed = deliveries.claim(delivery.id, now=now, lease=SEND_LEASE)
    assert claimed is not None
    error = attempt(claimed, channel)
    deliveries.finish(
        claimed, now=utcnow(), status=DELIVERED if error is None else FAILED, error=error
    )
    result = deliveries.get(delivery.id)
    assert result is not None
    return result
