"""When an order ends and lets go of its table, the location's longest-waiting order is pushed
at once (first in, first out) instead of at its next poll for a free table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from locations.repository import Location
from orders import tasks
from orders.repository import TransactionRepository
from orders.states import PushStatus
from tests.orders.conftest import Clock, Menu
from tests.orders.helpers import paid_order

pytestmark = pytest.mark.django_db


def test_the_longest_waiting_order_of_the_location_is_woken_first_and_once(
    location: Location, integration: Any, menu: Menu, clock: Clock
) -> None:
    repository = TransactionRepository()
    first, second, not_waiting = (paid_order(location, integration, menu, clock()) for _ in "abc")
    # The second waits for a table before the first does: creation order decides, not that.
    for txn in (second, first):
        assert repository.postpone(txn, due_at=clock() + timedelta(seconds=30))

    woken = [repository.wake_oldest_waiting(location.id, now=clock()) for _ in range(3)]

    assert woken == [first.id, second.id, None]
    assert repository.wake_oldest_waiting(str(ObjectId()), now=clock()) is None
    untouched = repository.get(not_waiting.id)
    assert untouched is not None and untouched.push is not None
    assert untouched.push.status is PushStatus.QUEUED


def test_an_order_that_ends_pushes_the_waiting_order_at_once(
    location: Location, integration: Any, menu: Menu, clock: Clock, monkeypatch: Any
) -> None:
    repository = TransactionRepository()
    ended, waiting = (paid_order(location, integration, menu, clock()) for _ in "ab")
    assert repository.postpone(waiting, due_at=datetime.now(UTC) + timedelta(minutes=5))
    enqueued: list[tuple[str, PushStatus]] = []
    monkeypatch.setattr(
        tasks, "enqueue_for_status", lambda txn_id, status: enqueued.append((txn_id, status))
    )

    assert tasks.wake_order_waiting_for_a_table(ended.id) == waiting.id

    assert enqueued == [(waiting.id, PushStatus.QUEUED)]
    # Nobody else waits: a second ended order wakes nothing.
    assert tasks.wake_order_waiting_for_a_table(ended.id) is None
    assert enqueued == [(waiting.id, PushStatus.QUEUED)]
