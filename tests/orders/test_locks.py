"""The table lock: one owner at a time per (location, provider, table), expiry by time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database

from orders.locks import TableLockRepository

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def test_a_free_table_is_claimed_and_refused_to_another_order(indexed_db: Database[Any]) -> None:
    locks = TableLockRepository()

    assert locks.claim("L1", "hendrickx", 3, "order-a", now=NOW, ttl=TTL) is True
    assert (
        locks.claim("L1", "hendrickx", 3, "order-b", now=NOW + timedelta(minutes=4), ttl=TTL)
        is False
    )

    lock = locks.get("L1", "hendrickx", 3)
    assert lock is not None
    assert (lock.owner, lock.expires_at) == ("order-a", NOW + TTL)


def test_the_owner_reclaims_its_table_and_extends_the_expiry(indexed_db: Database[Any]) -> None:
    locks = TableLockRepository()
    locks.claim("L1", "hendrickx", 3, "order-a", now=NOW, ttl=TTL)

    assert locks.claim("L1", "hendrickx", 3, "order-a", now=NOW + timedelta(minutes=2), ttl=TTL)

    lock = locks.get("L1", "hendrickx", 3)
    assert lock is not None
    assert lock.expires_at == NOW + timedelta(minutes=7)


def test_an_expired_lock_is_taken_over(indexed_db: Database[Any]) -> None:
    locks = TableLockRepository()
    locks.claim("L1", "hendrickx", 3, "order-a", now=NOW, ttl=TTL)

    at_expiry = NOW + TTL
    assert locks.claim("L1", "hendrickx", 3, "order-b", now=at_expiry, ttl=TTL) is False
    after = at_expiry + timedelta(milliseconds=1)
    assert locks.claim("L1", "hendrickx", 3, "order-b", now=after, ttl=TTL) is True

    lock = locks.get("L1", "hendrickx", 3)
    assert lock is not None
    assert lock.owner == "order-b"
    assert [(e["event"], e["owner"]) for e in lock.events] == [
        ("claim", "order-a"),
        ("claim", "order-b"),
    ]
    # The old owner's release no longer frees the table.
    assert locks.release("L1", "hendrickx", 3, "order-a", now=after) is False
    assert locks.get("L1", "hendrickx", 3).owner == "order-b"  # type: ignore[union-attr]


def test_a_released_table_is_free_for_the_next_order(indexed_db: Database[Any]) -> None:
    locks = TableLockRepository()
    locks.claim("L1", "hendrickx", 3, "order-a", now=NOW, ttl=TTL)

    assert locks.release("L1", "hendrickx", 3, "order-a", now=NOW) is True
    assert locks.claim("L1", "hendrickx", 3, "order-b", now=NOW, ttl=TTL) is True
    assert locks.held("L1", "hendrickx", now=NOW) == {3: "order-b"}


def test_locks_are_per_location_provider_and_table(indexed_db: Database[Any]) -> None:
    locks = TableLockRepository()
    locks.claim("L1", "hendrickx", 3, "order-a", now=NOW, ttl=TTL)

    assert locks.claim("L2", "hendrickx", 3, "order-b", now=NOW, ttl=TTL)
    assert locks.claim("L1", "vanhoutte", 3, "order-c", now=NOW, ttl=TTL)
    assert locks.claim("L1", "hendrickx", 4, "order-d", now=NOW, ttl=TTL)


def test_of_many_concurrent_claims_exactly_one_wins(indexed_db: Database[Any]) -> None:
    locks = TableLockRepository()
    barrier = threading.Barrier(16)
    results: dict[str, bool] = {}

    def claim(owner: str) -> None:
        barrier.wait()
        results[owner] = locks.claim("L1", "hendrickx", 7, owner, now=NOW, ttl=TTL)

    threads = [threading.Thread(target=claim, args=(f"order-{i}",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [owner for owner, won in results.items() if won]
    assert len(winners) == 1
    assert locks.get("L1", "hendrickx", 7).owner == winners[0]  # type: ignore[union-attr]


def test_undoing_one_claim_leaves_a_newer_claim_of_the_same_order(
    indexed_db: Database[Any],
) -> None:
    locks = TableLockRepository()
    later = NOW + timedelta(minutes=1)
    locks.claim("L1", "hendrickx", 3, "order-a", now=NOW, ttl=TTL)
    locks.claim("L1", "hendrickx", 3, "order-a", now=later, ttl=TTL)

    assert locks.release("L1", "hendrickx", 3, "order-a", now=later, claimed_at=NOW) is False
    assert locks.held("L1", "hendrickx", now=later) == {3: "order-a"}

    assert locks.release("L1", "hendrickx", 3, "order-a", now=later, claimed_at=later) is True
    assert locks.held("L1", "hendrickx", now=later) == {}
