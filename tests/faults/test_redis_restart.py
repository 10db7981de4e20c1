"""Fault injection: Redis (broker and cache) restarted with `shutdown nosave` while orders
are being pushed; every queued Celery message is lost. A redis-server of the test's own;
real workers and beat; beat's stall resumption must finish every push."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo.database import Database

from locations.repository import Location
from tests.e2e_support import wait_for
from tests.faults.support import (
    RedisServer,
    assert_no_secrets,
    assert_no_table_lock_held,
    assert_orders_settled,
    paid_orders,
    producer_broker,
    push_statuses,
    secret_simulator,
    wait_settled,
)
from tests.orders.conftest import PROVIDER, TABLES, connect_integration, import_menu
from tests.orders.e2e_stack import celery_stack

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_server(settings: Any) -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_restarted_during_pushes_loses_no_order_and_pays_each_once(
    redis_server: RedisServer,
    mongo_db: Database[dict[str, Any]],
    location: Location,
    settings: Any,
    captured: Any,
) -> None:
    env = {
        "MONGODB_DB": settings.MONGODB_DB,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": redis_server.url,
        "ORDER_PUSH_RETRY_BASE_SECONDS": "0.1",
        "ORDER_PUSH_TABLE_RETRY_SECONDS": "0.1",
        "ORDER_PUSH_LEASE_SECONDS": "3",
        "ORDER_PUSH_STALL_SECONDS": "2",
        "ORDER_PUSH_BEAT_SECONDS": "1",
        "POS_RETEST_MAX_INTERVAL_SECONDS": "2",  # the re-test backoff, short here
    }
    with (
        producer_broker(redis_server.url),
        secret_simulator(products=30, tables=len(TABLES), encrypt=True) as sim,
        celery_stack(env) as stack,
    ):
        connect_integration(location, sim)
        menu = import_menu(mongo_db, location.id, sim.catalog())
        sim.set_faults(latency_ms=100)
        ids = paid_orders(location, menu, 10)
        wait_for(
            lambda: 1 <= list(push_statuses(ids).values()).count("paid") < len(ids),
            timeout=30,
            interval=0.02,
            what="some orders paid, others in flight",
        )

        redis_server.shutdown()  # nosave: the queued pushes are gone
        redis_server.start()

        # Celery 5.7.0 can stop a worker whose broker went away (its reconnect closes a
        # connection whose client collect() already dropped: AttributeError); production's
        # supervisor restarts it, and so does this test, which records every such exit.
        exited: list[str] = []
        wait_settled(
            ids,
            timeout=90,
            allowed=("paid",),
            logs=stack.logs,
            each_poll=lambda: exited.extend(stack.restart_exited_workers()),
        )
        for log in exited:  # a worker may only have stopped for that reason
            assert "AttributeError: 'NoneType' object has no attribute 'hostname'" in log, log
        statuses = assert_orders_settled(sim, ids)
        assert statuses["paid"] == len(ids)
        assert_no_table_lock_held(location.id, PROVIDER, ttl=timedelta(minutes=5))
        processes = [*stack.workers, *([stack.beat] if stack.beat else [])]
        logs = "\n".join([*(p.log() for p in processes), *exited])
        assert_no_secrets(sim, logs, captured.text)
