"""Table locks: which in-flight order owns a table of a register (collection `table_locks`).

One document per (location, provider, table), `_id` = "<location>:<provider>:<table>"::

    {_id, location_id, provider, table_number, owner: <transaction id> | None,
     claimed_at, expires_at, events: [{event: claim|release, owner, at}, ...]}

A claim is one conditional upsert whose filter matches a lock that is free, already the
claimer's (re-entrant: a resumed step refreshes its lock) or expired (`expires_at < now`). When
the document exists and matches none of those, the upsert's insert collides with the `_id`
and fails: somebody else holds the table. Expiry is checked in the filter against the caller's
clock, not by a TTL index (whose deletions lag by up to a minute). `events` is a short,
bounded audit trail in write order, which also lets tests prove that no two owners overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from upvendo.mongo import get_db

COLLECTION = "table_locks"
MAX_EVENTS = 50


@dataclass(frozen=True)
class TableLock:
    location_id: str
    provider: str
    table_number: int
    owner: str | None
    claimed_at: datetime | None
    expires_at: datetime | None
    events: tuple[dict[str, Any], ...]

    def held_by_other(self, owner: str, now: datetime) -> bool:
        return (
            self.owner is not None
            and self.owner != owner
            and self.expires_at is not None
            and self.expires_at >= now
        )

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> TableLock:
        return cls(
            location_id=doc["location_id"],
            provider=doc["provider"],
            table_number=doc["table_number"],
            owner=doc.get("owner"),
            claimed_at=doc.get("claimed_at"),
            expires_at=doc.get("expires_at"),
            events=tuple(doc.get("events", ())),
        )


def lock_key(location_id: str, provider: str, table_number: int) -> str:
    return f"{location_id}:{provider}:{table_number}"


class TableLockRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[COLLECTION]

    def claim(
        self,
        location_id: str,
        provider: str,
        table_number: int,
        owner: str,
        *,
        now: datetime,
        ttl: timedelta,
    ) -> bool:
        """Take (or refresh) the table for `owner` until `now + ttl`; False if another holds it."""
        key = lock_key(location_id, provider, table_number)
        try:
            result = self._collection.update_one(
                {
                    "_id": key,
                    "$or": [
                        {"owner": None},
                        {"owner": owner},
                        {"expires_at": {"$lt": now}},
                    ],
                },
                {
                    "$set": {
                        "location_id": location_id,
                        "provider": provider,
                        "table_number": table_number,
                        "owner": owner,
                        "claimed_at": now,
                        "expires_at": now + ttl,
                    },
                    "$push": {
                        "events": {
                            "$each": [{"event": "claim", "owner": owner, "at": now}],
                            "$slice": -MAX_EVENTS,
                        }
                    },
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return result.matched_count == 1 or result.upserted_id is not None

    def release(
        self,
        location_id: str,
        provider: str,
        table_number: int,
        owner: str,
        *,
        now: datetime,
        claimed_at: datetime | None = None,
    ) -> bool:
        """Free the table if `owner` still holds it; False when it did not (nothing changes).

        With `claimed_at`, only if the lock still carries that claim: undoing one claim never
        frees a newer claim of the same owner.
        """
        match: dict[str, Any] = {
            "_id": lock_key(location_id, provider, table_number),
            "owner": owner,
        }
        if claimed_at is not None:
            match["claimed_at"] = claimed_at
        result = self._collection.update_one(
            match,
            {
                "$set": {"owner": None, "expires_at": None},
                "$push": {
                    "events": {
                        "$each": [{"event": "release", "owner": owner, "at": now}],
                        "$slice": -MAX_EVENTS,
                    }
                },
            },
        )
        return result.modified_count == 1

    def get(self, location_id: str, provider: str, table_number: int) -> TableLock | None:
        doc = self._collection.find_one({"_id": lock_key(location_id, provider, table_number)})
        return TableLock.from_document(doc) if doc else None

    def held(self, location_id: str, provider: str, *, now: datetime) -> dict[int, str]:
        """Table number -> owner of every unexpired lock of the location's register."""
        cursor = self._collection.find(
            {
                "location_id": location_id,
                "provider": provider,
                "owner": {"$ne": None},
                "expires_at": {"$gte": now},
            },
            {"table_number": 1, "owner": 1},
        )
        return {doc["table_number"]: doc["owner"] for doc in cursor}

    def owned(self, *, limit: int) -> list[TableLock]:
        """Locks that name an owner (expired or not), for the sweep of ended orders' locks."""
        cursor = self._collection.find({"owner": {"$type": "string"}}, {"events": 0})
        return [TableLock.from_document(doc) for doc in cursor.limit(limit)]

    def for_location(self, location_id: str, provider: str) -> list[TableLock]:
        cursor = self._collection.find({"location_id": location_id, "provider": provider})
        return [TableLock.from_document(doc) for doc in cursor.sort("table_number", 1)]
