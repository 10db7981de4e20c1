"""A duplicate push task (beat's stall resumption, a redelivery) racing the task that
finishes the push, replayed deterministically: the duplicate reads the order just before
it is paid, and runs its step just after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kassanet.testing import SimulatorHandle
from locations.repository import Location
from orders.locks import TableLockRepository
from orders.push import OrderPusher
from orders.repository import TransactionRepository
from orders.states import IN_FLIGHT, PushStatus
from tests.faults.support import assert_no_table_lock_held
from tests.orders.conftest import PROVIDER, Clock, Menu
from tests.orders.helpers import StaleOnce, paid_order

pytestmark = [pytest.mark.faults, pytest.mark.django_db]
S = PushStatus
UP_TO_BILL_CHECK = frozenset({S.QUEUED, S.TABLE_ASSIGNED, S.SENDING, S.ORDER_SENT})


def test_a_duplicate_task_that_read_the_order_before_it_was_paid_leaves_no_lock(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(location, integration, menu, clock())
    pusher.advance(txn.id, UP_TO_BILL_CHECK)
    stale = TransactionRepository().get(txn.id)
    assert stale is not None and stale.push is not None
    assert stale.push.status == S.BILL_CHECKED
    pusher.advance(txn.id, IN_FLIGHT)  # the first task pays and releases the table

    duplicate = OrderPusher(
        transactions=StaleOnce(stale), config=pusher.config, clock=clock, jitter=pusher.jitter
    )
    duplicate.advance(txn.id, IN_FLIGHT)

    assert len(simulator.payments()) == 1
    paid = TransactionRepository().get(txn.id)
    assert paid is not None and paid.push is not None and paid.push.status == S.PAID
    lock = TableLockRepository().get(location.id, PROVIDER, stale.push.table_number or 0)
    assert lock is not None
    assert lock.owner is None, lock.events
    assert_no_table_lock_held(location.id, PROVIDER, ttl=timedelta(minutes=5), now=clock())
