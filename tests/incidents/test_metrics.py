"""`/metrics` (prometheus-client): a pushed order is counted, with its latency and the register
requests it made; queue depths and open incidents are read at scrape time; production asks
for the bearer token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

import kassanet
from incidents import detection, kinds
from integrations.repository import Integration
from locations.repository import Location
from orders.push import OrderPusher
from orders.states import PushStatus
from tests.orders.conftest import Menu, fast_config
from tests.orders.helpers import paid_order

ALL = frozenset(PushStatus) - {PushStatus.PAID, PushStatus.FAILED, PushStatus.NEED_REQUEUE}


def scrape(
    client: Client | None = None, **headers: str
) -> dict[tuple[str, tuple[Any, ...]], float]:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_a_pushed_order_is_counted(
    location: Location, integration: Integration, menu: Menu
) -> None:
    pushed = ("upvendo_orders_pushed_total", (("provider", "hendrickx"),))
    latency = ("upvendo_order_push_seconds_count", (("provider", "hendrickx"),))
    send = (
        "upvendo_register_request_seconds_count",
        (("endpoint", "SendOrder"), ("provider", "hendrickx")),
    )
    before = scrape()
    txn = paid_order(location, integration, menu, datetime.now(UTC), products=[("P1", 1, ())])
    pusher = OrderPusher(config=fast_config(), jitter=kassanet.no_jitter)
    assert pusher.advance(txn.id, ALL).status is PushStatus.PAID
    after = scrape()
    assert after[pushed] - before.get(pushed, 0) == 1
    assert after[latency] - before.get(latency, 0) == 1
    assert after[send] - before.get(send, 0) == 1


def test_open_incidents_and_queue_depths_are_read_at_scrape_time(location: Location) -> None:
    detection.open_incident(kinds.ORDER_FAILED, location.id, "An order failed.")
    values = scrape()
    assert values[("upvendo_open_incidents", (("kind", "order_failed"),))] == 1
    assert values[("upvendo_open_incidents", (("kind", "register_disconnected"),))] == 0
    for queue in ("default", "menu-import", "payments-medium"):
        assert ("upvendo_queue_depth", (("queue", queue),)) in values


def test_production_asks_for_the_token(settings: Any) -> None:
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "a-metrics-token-of-some-length"
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer a-metrics-token-of-some-length")


def test_multiprocess_mode_adds_up_every_process(tmp_path: Any, settings: Any) -> None:
    """Two processes (a worker's and the web's) share PROMETHEUS_MULTIPROC_DIR: the scrape in
    the second one counts what the first one pushed."""
    import os
    import subprocess
    import sys

    from tests.e2e_support import ROOT

    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "upvendo.settings",
        "DJANGO_ENV": "test",
        "SERVICES_ENV_FILE": "/dev/null",
        "MONGODB_DB": settings.MONGODB_DB,
    }
    worker = (
        "import django; django.setup()\n"
        "from upvendo import metrics\n"
        "metrics.ORDERS_PUSHED.labels('hendrickx').inc(2)\n"
    )
    web = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from upvendo.metrics import metrics_view, ORDERS_PUSHED\n"
        "ORDERS_PUSHED.labels('hendrickx').inc()\n"
        "print(metrics_view(RequestFactory().get('/metrics')).content.decode())\n"
    )
    subprocess.run([sys.executable, "-c", worker], env=env, cwd=ROOT, check=True)
    scraped = subprocess.run(
        [sys.executable, "-c", web], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    assert 'upvendo_orders_pushed_total{provider="hendrickx"} 3.0' in scraped


def test_queue_depth_counts_the_messages_waiting_in_redis(settings: Any) -> None:
    import uuid

    import redis

    prefix = f"test-depth-{uuid.uuid4().hex[:8]}:"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "global_keyprefix": prefix,
    }
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.rpush(prefix + "default", "a", "b")
        client.rpush(prefix + "payments-medium\x06\x169", "c")  # a priority step's list
        values = scrape()
    finally:
        client.delete(prefix + "default", prefix + "payments-medium\x06\x169")
    assert values[("upvendo_queue_depth", (("queue", "default"),))] == 2
    assert values[("upvendo_queue_depth", (("queue", "payments-medium"),))] == 1
    assert values[("upvendo_queue_depth", (("queue", "menu-import"),))] == 0
