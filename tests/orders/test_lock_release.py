"""A table lock lives exactly as long as its order needs the table: duplicate tasks working
from a stale read never free a live order's lock nor re-lock an ended order's table, and
beat frees what a killed worker left behind."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from kassanet.testing import SimulatorHandle
from locations.repository import Location
from orders import services
from orders.locks import TableLockRepository
from orders.push import OrderPusher, Outcome
from orders.repository import TransactionRepository
from orders.states import IN_FLIGHT, PushStatus
from tests.orders.conftest import PROVIDER, Clock, Menu
from tests.orders.helpers import StaleOnce, paid_order

S = PushStatus
PUSH_STAGES = frozenset({S.QUEUED, S.TABLE_ASSIGNED, S.SENDING})
pytestmark = pytest.mark.django_db


def duplicate_of(pusher: OrderPusher, txn_id: str) -> OrderPusher:
    """A second pusher whose first read is the order as it is now (then goes stale)."""
    snapshot = TransactionRepository().get(txn_id)
    assert snapshot is not None
    return OrderPusher(
        transactions=StaleOnce(snapshot),
        config=pusher.config,
        clock=pusher.clock,
        jitter=pusher.jitter,
    )


def owner_of(location: Location, table: int) -> str | None:
    lock = TableLockRepository().get(location.id, PROVIDER, table)
    assert lock is not None
    return lock.owner


def test_a_duplicate_that_lost_the_table_assignment_keeps_the_winners_table_locked(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
) -> None:
    txn = paid_order(location, integration, menu, pusher.clock())
    duplicate = duplicate_of(pusher, txn.id)  # read while queued
    assert pusher.advance(txn.id, {S.QUEUED}) == Outcome(S.TABLE_ASSIGNED)

    # The duplicate claims the same free table (its own lock: a refresh), loses the
    # transition, and must not free the table the winner is about to use.
    assert duplicate.advance(txn.id, {S.QUEUED}) == Outcome(S.TABLE_ASSIGNED)

    assert owner_of(location, 1) == txn.id
    assert pusher.advance(txn.id, IN_FLIGHT) == Outcome(S.PAID)
    assert owner_of(location, 1) is None


def test_a_duplicate_that_read_the_order_before_it_was_sent_keeps_the_live_orders_lock(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
) -> None:
    txn = paid_order(location, integration, menu, pusher.clock())
    pusher.advance(txn.id, {S.QUEUED})
    duplicate = duplicate_of(pusher, txn.id)  # read while table_assigned
    assert pusher.advance(txn.id, PUSH_STAGES) == Outcome(S.ORDER_SENT)

    assert duplicate.advance(txn.id, PUSH_STAGES) == Outcome(S.ORDER_SENT)

    assert simulator.counters()["SendOrder"] == 1
    assert owner_of(location, 1) == txn.id


def test_beat_frees_tables_still_locked_by_ended_or_missing_orders_only(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    locks = TableLockRepository()
    in_flight = paid_order(location, integration, menu, clock())
    assert pusher.advance(in_flight.id, PUSH_STAGES) == Outcome(S.ORDER_SENT)  # table 1
    ended = paid_order(location, integration, menu, clock())
    assert pusher.advance(ended.id, IN_FLIGHT) == Outcome(S.PAID)  # table 2, released
    # A worker killed between the paid transition and the release, and an order deleted.
    ttl = pusher.config.lock_ttl
    assert locks.claim(location.id, PROVIDER, 2, ended.id, now=clock(), ttl=ttl)
    assert locks.claim(location.id, PROVIDER, 3, str(ObjectId()), now=clock(), ttl=ttl)

    assert services.release_ended_orders_locks(pusher) == 2

    assert locks.held(location.id, PROVIDER, now=clock()) == {1: in_flight.id}
