"""A register cannot hurt other tenants: its re-tests run off the order-push queues with a
backoff of their own, and its words are stored bounded."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import kassanet
from integrations.repository import (
    CONNECTED,
    DISCONNECTED,
    MAX_MESSAGE_CHARS,
    SYNC_ERROR,
    IntegrationRepository,
)
from integrations.services import get_service
from locations.repository import Location, LocationRepository
from orders.push import _error_text
from orders.services import claim_due_retests, retest_interval
from orders.tasks import check_disconnected_integrations_job
from tests.e2e_support import _producer_prefix
from tests.integrations.conftest import SIGNATURE_KEY, credentials
from tests.kassanet.raw_server import answer, raw_server
from tests.schedule.conftest import Broker
from upvendo.celery import QUEUE_CONNECTION_TESTS, QUEUE_DEFAULT, QUEUE_PAYMENTS
from upvendo.redis import get_redis
from upvendo.schedules import ensure_schedules

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def broker() -> Iterator[Broker]:
    prefix = f"test-retest-{uuid.uuid4().hex[:10]}:"
    with _producer_prefix(prefix):
        yield Broker(prefix)
    client = get_redis()
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


def disconnected(repo: IntegrationRepository, location: Location, provider: str) -> str:
    integration = repo.upsert(location.id, provider, credentials(), {})
    repo.set_connection(integration.id, DISCONNECTED, "The register is unreachable.")
    return integration.id


def other_location() -> Location:
    return LocationRepository().create(
        vendor_id="2", name="Elsewhere", timezone="Europe/Brussels", currency="EUR"
    )


# -- the re-test's queue -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_retest_schedule_is_written_for_the_connection_tests_queue() -> None:
    from django_celery_beat.models import PeriodicTask

    ensure_schedules()

    queues = {task.task: task.queue for task in PeriodicTask.objects.all()}
    assert queues["CheckDisconnectedIntegrationsJob"] == QUEUE_CONNECTION_TESTS
    assert queues["ResumeStalledOrderPushesJob"] == QUEUE_DEFAULT


def test_the_retests_go_to_the_connection_tests_queue_not_the_push_queues(
    broker: Broker, location: Location, repo: IntegrationRepository
) -> None:
    down = disconnected(repo, location, "hendrickx")
    up = repo.upsert(location.id, "vanhoutte", credentials(), {})
    repo.set_connection(up.id, CONNECTED, "Connected.")

    assert check_disconnected_integrations_job() == 1

    assert broker.queued(QUEUE_CONNECTION_TESTS) == [("TestKassanetConnectionJob", f"('{down}',)")]
    assert broker.queued(QUEUE_DEFAULT) == []
    assert broker.queued(QUEUE_PAYMENTS) == []
    # The backoff is taken at once: a second beat tick in the same minute sends nothing.
    assert check_disconnected_integrations_job() == 0


# -- backoff per integration ---------------------------------------------------------------------


def test_each_integration_backs_off_on_its_own_and_a_success_resets_it(
    location: Location, repo: IntegrationRepository, settings: Any
) -> None:
    settings.ORDER_PUSH_BEAT_SECONDS = 60
    settings.POS_RETEST_MAX_INTERVAL_SECONDS = 300
    first = disconnected(repo, location, "hendrickx")

    def due(seconds: float) -> list[str]:
        return claim_due_retests(T0 + timedelta(seconds=seconds), repo)

    assert due(0) == [first]  # next at +60
    assert due(59) == []
    second = disconnected(repo, other_location(), "hendrickx")
    assert due(60) == [first, second]  # first: next at 60 + 120 = 180; second: at 120
    assert due(120) == [second]  # second: next at 120 + 120 = 240
    assert due(179) == []
    assert due(180) == [first]  # next at 180 + 240 = 420
    assert due(419) == [second]  # second was due at 240; next at 419 + 240 = 659
    assert due(420) == [first]  # capped: next at 420 + 300 = 720
    assert due(719) == [second]
    assert due(720) == [first]

    repo.set_connection(first, CONNECTED, "Connected.")
    repo.set_connection(first, DISCONNECTED, "Down again.")
    assert due(721) == [first]  # a fresh outage starts from the first interval
    assert due(721 + 59) == []
    assert due(721 + 60) == [first]


def test_retest_intervals_double_from_the_beat_up_to_the_cap(settings: Any) -> None:
    settings.ORDER_PUSH_BEAT_SECONDS = 60
    settings.POS_RETEST_MAX_INTERVAL_SECONDS = 1800
    assert [retest_interval(n) for n in range(7)] == [60, 120, 240, 480, 960, 1800, 1800]
    assert retest_interval(10_000) == 1800


def test_two_beat_ticks_claim_one_retest(location: Location, repo: IntegrationRepository) -> None:
    integration_id = disconnected(repo, location, "hendrickx")
    later = T0 + timedelta(minutes=1)
    assert repo.claim_retest(integration_id, 0, T0, later) is True
    assert repo.claim_retest(integration_id, 0, T0, later) is False


# -- the register's words, bounded ---------------------------------------------------------------


def test_stored_messages_are_bounded(location: Location, repo: IntegrationRepository) -> None:
    integration = repo.upsert(location.id, "hendrickx", credentials(), {})
    long = "x" * (MAX_MESSAGE_CHARS * 5)
    bounded = "x" * (MAX_MESSAGE_CHARS - 1) + "…"

    repo.set_connection(integration.id, DISCONNECTED, long)
    repo.append_log(integration.id, "error", "connection_test", long)
    assert repo.claim_sync(integration.id, "run-1")
    repo.finish_sync(integration.id, "run-1", SYNC_ERROR, long)

    stored = repo.get_by_id(integration.id)
    assert stored is not None
    assert stored.connection["message"] == bounded
    assert stored.sync_status["message"] == bounded
    assert repo.logs(integration.id)[0].message == bounded
    mirrored = LocationRepository().get(location.id)
    assert mirrored is not None and mirrored.pos_connection["hendrickx"]["message"] == bounded


def test_an_order_error_message_is_bounded() -> None:
    error = kassanet.RequestError("y" * 10_000, status_code=422)
    assert _error_text(error) == "y" * (MAX_MESSAGE_CHARS - 1) + "…"


def test_a_registers_long_error_is_stored_short_by_the_connection_test(
    location: Location, repo: IntegrationRepository
) -> None:
    words = {"error": {"code": "NOPE", "message": "z" * 100_000}}
    handler = answer(SIGNATURE_KEY, json.dumps(words).encode(), status="422 Unprocessable Entity")
    with raw_server(handler) as server:
        integration = repo.upsert(
            location.id, "hendrickx", credentials(server.url(), enable_encryption=False), {}
        )
        result = get_service("hendrickx").test_connection(integration)
    assert result.connected is False
    # The client keeps 300 characters of the register's message (kassanet.Limits).
    assert result.message == (
        "Connection test failed: Kassanet test failed with HTTP 422 (NOPE: " + "z" * 299 + "…)"
    )
    stored = repo.get_by_id(integration.id)
    assert stored is not None and stored.connection["message"] == result.message
