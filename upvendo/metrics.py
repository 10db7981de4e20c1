"""Prometheus metrics (prometheus-client) and the `/metrics` endpoint.

Process-local metrics are updated where things happen (signal receivers connected in
`incidents.apps`, and the register client's transport). Under gunicorn and Celery, set
`PROMETHEUS_MULTIPROC_DIR` to a directory shared by every process of the host (empty at
start): each process writes its own files there and `/metrics` adds them up
(`prometheus_client.multiprocess`). Without it (development, tests) the process's own
registry is served.

Queue depths and open incidents are read at scrape time (Redis LLEN, one MongoDB
aggregation), so they are right whichever process serves the scrape.

`/metrics` is protected in production: it answers only `Authorization: Bearer
<METRICS_TOKEN>` (404 while METRICS_TOKEN is unset); elsewhere it is open.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)

ORDERS_PUSHED = Counter("upvendo_orders_pushed_total", "Orders paid on the register.", ["provider"])
ORDERS_FAILED = Counter(
    "upvendo_orders_failed_total", "Order pushes that ended failed.", ["provider", "code"]
)
ORDERS_REQUEUED = Counter(
    "upvendo_orders_requeued_total",
    "Order pushes kept with need_requeue (register unreachable).",
    ["provider"],
)
PUSH_LATENCY = Histogram(
    "upvendo_order_push_seconds",
    "From payment confirmed to paid on the register.",
    ["provider"],
    buckets=LATENCY_BUCKETS,
)
REGISTER_LATENCY = Histogram(
    "upvendo_register_request_seconds",
    "One HTTP request to a register, by endpoint.",
    ["provider", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
REGISTER_ERRORS = Counter(
    "upvendo_register_errors_total",
    "Register requests that failed: an HTTP status >= 400, or 'transport'.",
    ["provider", "endpoint", "error"],
)
IMPORT_DURATION = Histogram(
    "upvendo_menu_import_seconds",
    "A whole menu import, from start to finish.",
    ["provider", "status"],
    buckets=LATENCY_BUCKETS,
)
IMPORT_RECORDS = Counter(
    "upvendo_menu_import_records_total",
    "Records written by menu imports, by entity (stage) and action.",
    ["provider", "entity", "action"],
)


# -- event receivers (connected in incidents.apps) ------------------------------------------


def on_push_paid(sender: Any, *, transaction: Any, **kwargs: Any) -> None:
    provider = transaction.pos_provider or "none"
    ORDERS_PUSHED.labels(provider).inc()
    confirmed = (transaction.payment or {}).get("confirmed_at")
    if confirmed is not None:
        PUSH_LATENCY.labels(provider).observe(
            max(0.0, (datetime.now(UTC) - confirmed).total_seconds())
        )


def on_push_failed(sender: Any, *, transaction: Any, code: str | None, **kwargs: Any) -> None:
    ORDERS_FAILED.labels(transaction.pos_provider or "none", code or "none").inc()


def on_push_held(sender: Any, *, transaction: Any, **kwargs: Any) -> None:
    ORDERS_REQUEUED.labels(transaction.pos_provider or "none").inc()


def on_sync_finished(
    sender: Any, *, integration_id: str, status: str, details: dict[str, Any], **kwargs: Any
) -> None:
    from integrations.repository import IntegrationRepository

    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None:
        return
    started = integration.sync_status.get("started_at")
    if started is not None:
        IMPORT_DURATION.labels(integration.provider, status).observe(
            max(0.0, (datetime.now(UTC) - started).total_seconds())
        )
    for entity, counts in (details.get("report") or {}).items():
        for action in ("created", "updated", "deleted", "skipped"):
            if counts.get(action):
                IMPORT_RECORDS.labels(integration.provider, entity, action).inc(counts[action])


class InstrumentedTransport(httpx.BaseTransport):
    """The register client's HTTP transport, timing each request by endpoint."""

    def __init__(self, provider: str, inner: httpx.BaseTransport | None = None) -> None:
        self.provider = provider
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.rstrip("/").rsplit("/", 1)[-1] or "/"
        started = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError:
            REGISTER_ERRORS.labels(self.provider, endpoint, "transport").inc()
            raise
        finally:
            REGISTER_LATENCY.labels(self.provider, endpoint).observe(time.perf_counter() - started)
        if response.status_code >= 400:
            REGISTER_ERRORS.labels(self.provider, endpoint, str(response.status_code)).inc()
        return response

    def close(self) -> None:
        self.inner.close()


def register_transport(
    provider: str, inner: httpx.BaseTransport | None = None
) -> httpx.BaseTransport:
    """Time every register request of `provider`, through `inner` (the guarded transport)."""
    return InstrumentedTransport(provider, inner)


# -- read at scrape time --------------------------------------------------------------------


class ScrapeTimeCollector(Collector):
    """Queue depths (Redis) and open incidents (MongoDB), read when /metrics is scraped."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from upvendo.celery import QUEUES

        depths = GaugeMetricFamily(
            "upvendo_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue, depth in queue_depths(QUEUES).items():
            depths.add_metric([queue], depth)
        yield depths
        incidents = GaugeMetricFamily(
            "upvendo_open_incidents", "Open incidents, by kind.", labels=["kind"]
        )
        for kind, count in open_incidents().items():
            incidents.add_metric([kind], count)
        yield incidents


def queue_depths(queues: Iterable[str]) -> dict[str, int]:
    """LLEN of each queue's Redis lists (kombu keeps a list per priority step)."""
    import redis

    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    try:
        depths = {}
        for queue in queues:
            names = [queue] + [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]
            depths[queue] = sum(int(client.llen(prefix + name)) for name in names)
        return depths
    finally:
        client.close()


def open_incidents() -> dict[str, int]:
    from incidents.kinds import KINDS
    from incidents.repository import INCIDENTS
    from upvendo.mongo import get_db

    counts = dict.fromkeys(KINDS, 0)
    pipeline: list[dict[str, Any]] = [
        {"$match": {"status": "open"}},
        {"$group": {"_id": "$kind", "n": {"$sum": 1}}},
    ]
    for doc in get_db()[INCIDENTS].aggregate(pipeline):
        counts[doc["_id"]] = doc["n"]
    return counts


def _authorized(request: HttpRequest) -> bool:
    if not settings.PRODUCTION:
        return True
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scrape = CollectorRegistry()
    scrape.register(ScrapeTimeCollector())
    return HttpResponse(body + generate_latest(scrape), content_type=CONTENT_TYPE_LATEST)
