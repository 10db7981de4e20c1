"""MongoDB collections of the incidents app.

- `incidents`: `{_id, vendor_id, location_id, location_name, provider, integration_id, kind,
  status: open | resolved, title, message, data, occurrences, samples: [<= 10], opened_at,
  last_seen_at, resolved_at, resolution}`. At most one `open` incident per (location, kind):
  a unique partial index enforces it, so opening is one conditional upsert and closing one
  conditional update; exactly one caller sees each transition and notifies. Resolved ones
  are trimmed to `INCIDENT_HISTORY_PER_LOCATION` per location.
- `connection_watches`: `{_id: integration_id, location_id, provider, since}`: since when an
  integration has been disconnected (its `connection.updated_at` moves with every re-test).
- `notification_channels`: `{_id, vendor_id, kind: email | webhook, address | url, events,
  secret: <Fernet token> (webhook), created_at}`.
- `notification_deliveries`: one per (event, channel): `{_id, vendor_id, channel_id, kind,
  target, event_id, event_type, incident_id, payload, status: pending | sending | delivered |
  failed, attempts, last_error, next_attempt_at, lease_until, delivered_at, replays,
  created_at, updated_at}`; kept `DELIVERY_RETENTION` (TTL index).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from pymongo import DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from locations.repository import object_id
from upvendo.mongo import get_db

INCIDENTS = "incidents"
WATCHES = "connection_watches"
CHANNELS = "notification_channels"
DELIVERIES = "notification_deliveries"
OPEN = "open"
RESOLVED = "resolved"
MAX_SAMPLES = 10
DELIVERY_RETENTION = timedelta(days=30)

PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class Incident:
    id: str
    vendor_id: str
    location_id: str
    location_name: str
    provider: str | None
    integration_id: str | None
    kind: str
    status: str
    title: str
    message: str
    data: dict[str, Any]
    occurrences: int
    samples: list[dict[str, Any]]
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Incident:
        return cls(
            id=str(doc["_id"]),
            vendor_id=doc["vendor_id"],
            location_id=doc["location_id"],
            location_name=doc.get("location_name", ""),
            provider=doc.get("provider"),
            integration_id=doc.get("integration_id"),
            kind=doc["kind"],
            status=doc["status"],
            title=doc["title"],
            message=doc["message"],
            data=doc.get("data") or {},
            occurrences=doc.get("occurrences", 1),
            samples=list(doc.get("samples") or []),
            opened_at=doc["opened_at"],
            last_seen_at=doc.get("last_seen_at", doc["opened_at"]),
            resolved_at=doc.get("resolved_at"),
            resolution=doc.get("resolution"),
        )


@dataclass(frozen=True)
class Opened:
    incident: Incident
    new: bool  # True for the one caller that opened it


class IncidentRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[INCIDENTS]

    def open(
        self,
        *,
        vendor_id: str,
        location_id: str,
        location_name: str,
        kind: str,
        title: str,
        message: str,
        now: datetime,
        provider: str | None = None,
        integration_id: str | None = None,
        data: dict[str, Any] | None = None,
        sample: dict[str, Any] | None = None,
    ) -> Opened:
        """Open the (location, kind) incident, or count one more occurrence of the open one.

        One conditional upsert: of many concurrent callers exactly one inserts (`new`); two
        inserting at once collide on the unique partial index and the loser counts instead.
        """
        update: dict[str, Any] = {
            "$setOnInsert": {
                "vendor_id": vendor_id,
                "location_name": location_name,
                "provider": provider,
                "integration_id": integration_id,
                "title": title,
                "message": message,
                "data": data or {},
                "opened_at": now,
                "resolved_at": None,
                "resolution": None,
            },
            "$set": {"last_seen_at": now},
            "$inc": {"occurrences": 1},
        }
        if sample is not None:
            update["$push"] = {"samples": {"$each": [sample], "$slice": -MAX_SAMPLES}}
        query = {"location_id": location_id, "kind": kind, "status": OPEN}
        for attempt in range(3):
            try:
                doc = self._collection.find_one_and_update(
                    query, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:
                if attempt == 2:
                    raise
                continue
            assert doc is not None  # upsert=True with ReturnDocument.AFTER
            # `occurrences` starts at 1 only in the insert: that caller opened it.
            return Opened(Incident.from_document(doc), new=doc["occurrences"] == 1)
        raise AssertionError("unreachable")

    def resolve(
        self, location_id: str, kind: str, *, now: datetime, resolution: str
    ) -> Incident | None:
        """Close the open (location, kind) incident; None when none was open (or another
        caller closed it first)."""
        doc = self._collection.find_one_and_update(
            {"location_id": location_id, "kind": kind, "status": OPEN},
            {"$set": {"status": RESOLVED, "resolved_at": now, "resolution": resolution}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        self.trim(location_id)
        return Incident.from_document(doc)

    def trim(self, location_id: str) -> int:
        """Delete the location's resolved incidents beyond the newest N."""
        keep = settings.INCIDENT_HISTORY_PER_LOCATION
        old = [
            doc["_id"]
            for doc in self._collection.find(
                {"location_id": location_id, "status": RESOLVED}, {"_id": 1}
            )
            .sort("resolved_at", DESCENDING)
            .skip(keep)
        ]
        if not old:
            return 0
        return self._collection.delete_many({"_id": {"$in": old}}).deleted_count

    def get_open(self, location_id: str, kind: str) -> Incident | None:
        doc = self._collection.find_one({"location_id": location_id, "kind": kind, "status": OPEN})
        return Incident.from_document(doc) if doc else None

    def list_open(self, kind: str | None = None) -> list[Incident]:
        query: dict[str, Any] = {"status": OPEN}
        if kind:
            query["kind"] = kind
        return [Incident.from_document(doc) for doc in self._collection.find(query)]

    def search(
        self,
        *,
        vendor_id: str | None = None,
        location_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        query: dict[str, Any] = {}
        if vendor_id is not None:
            query["vendor_id"] = vendor_id
        if location_id is not None:
            query["location_id"] = location_id
        if status is not None:
            query["status"] = status
        cursor = self._collection.find(query).sort("opened_at", DESCENDING).limit(limit)
        return [Incident.from_document(doc) for doc in cursor]

    def get_for_vendor(self, incident_id: str, vendor_id: str) -> Incident | None:
        oid = object_id(incident_id)
        doc = self._collection.find_one({"_id": oid, "vendor_id": vendor_id}) if oid else None
        return Incident.from_document(doc) if doc else None

    def open_counts(self, location_ids: list[str]) -> dict[str, int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": OPEN, "location_id": {"$in": location_ids}}},
            {"$group": {"_id": "$location_id", "n": {"$sum": 1}}},
        ]
        return {doc["_id"]: doc["n"] for doc in self._collection.aggregate(pipeline)}


class WatchRepository:
    """Since when each disconnected integration has been disconnected."""

    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[WATCHES]

    def disconnected(
        self, integration_id: str, location_id: str, provider: str, now: datetime
    ) -> datetime:
        """Remember the start of a disconnection (kept when it already runs); returns it."""
        doc = self._collection.find_one_and_update(
            {"_id": integration_id},
            {"$setOnInsert": {"location_id": location_id, "provider": provider, "since": now}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None
        since: datetime = doc["since"]
        return since

    def connected(self, integration_id: str) -> None:
        self._collection.delete_one({"_id": integration_id})

    def all(self) -> list[dict[str, Any]]:
        return list(self._collection.find({}))

    def since(self, integration_id: str) -> datetime | None:
        doc = self._collection.find_one({"_id": integration_id})
        return doc["since"] if doc else None


@dataclass(frozen=True)
class Channel:
    id: str
    vendor_id: str
    kind: str
    target: str  # the address or the URL
    events: list[str]
    created_at: datetime
    secret_token: str | None = field(default=None, repr=False)  # encrypted

    @property
    def address(self) -> str | None:
        return self.target if self.kind == "email" else None

    @property
    def url(self) -> str | None:
        return self.target if self.kind == "webhook" else None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Channel:
        return cls(
            id=str(doc["_id"]),
            vendor_id=doc["vendor_id"],
            kind=doc["kind"],
            target=doc.get("address") or doc.get("url") or "",
            events=list(doc.get("events") or []),
            created_at=doc["created_at"],
            secret_token=doc.get("secret"),
        )


class ChannelRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[CHANNELS]

    def create(
        self,
        *,
        vendor_id: str,
        kind: str,
        target: str,
        events: list[str],
        secret_token: str | None,
        now: datetime,
    ) -> Channel:
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as MongoDB stores it
        doc: dict[str, Any] = {
            "vendor_id": vendor_id,
            "kind": kind,
            "address" if kind == "email" else "url": target,
            "events": events,
            "created_at": now,
        }
        if secret_token is not None:
            doc["secret"] = secret_token
        doc["_id"] = self._collection.insert_one(doc).inserted_id
        return Channel.from_document(doc)

    def list_for_vendor(self, vendor_id: str) -> list[Channel]:
        cursor = self._collection.find({"vendor_id": vendor_id}).sort("created_at", 1)
        return [Channel.from_document(doc) for doc in cursor]

    def get(self, channel_id: str) -> Channel | None:
        oid = object_id(channel_id)
        doc = self._collection.find_one({"_id": oid}) if oid else None
        return Channel.from_document(doc) if doc else None

    def get_for_vendor(self, channel_id: str, vendor_id: str) -> Channel | None:
        oid = object_id(channel_id)
        doc = self._collection.find_one({"_id": oid, "vendor_id": vendor_id}) if oid else None
        return Channel.from_document(doc) if doc else None

    def delete_for_vendor(self, channel_id: str, vendor_id: str) -> bool:
        oid = object_id(channel_id)
        if oid is None:
            return False
        return self._collection.delete_one({"_id": oid, "vendor_id": vendor_id}).deleted_count == 1


@dataclass(frozen=True)
class Delivery:
    id: str
    vendor_id: str
    channel_id: str
    kind: str
    target: str
    event_id: str
    event_type: str
    incident_id: str | None
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    replays: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Delivery:
        return cls(
            id=str(doc["_id"]),
            vendor_id=doc["vendor_id"],
            channel_id=doc["channel_id"],
            kind=doc["kind"],
            target=doc["target"],
            event_id=doc["event_id"],
            event_type=doc["event_type"],
            incident_id=doc.get("incident_id"),
            payload=doc["payload"],
            status=doc["status"],
            attempts=doc.get("attempts", 0),
            last_error=doc.get("last_error"),
            next_attempt_at=doc.get("next_attempt_at"),
            delivered_at=doc.get("delivered_at"),
            replays=doc.get("replays", 0),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


class DeliveryRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[DELIVERIES]

    def create(
        self,
        *,
        channel: Channel,
        event_id: str,
        event_type: str,
        incident_id: str | None,
        payload: dict[str, Any],
        now: datetime,
    ) -> Delivery:
        doc: dict[str, Any] = {
            "vendor_id": channel.vendor_id,
            "channel_id": channel.id,
            "kind": channel.kind,
            "target": channel.target,
            "event_id": event_id,
            "event_type": event_type,
            "incident_id": incident_id,
            "payload": payload,
            "status": PENDING,
            "attempts": 0,
            "last_error": None,
            "next_attempt_at": now,
            "lease_until": None,
            "delivered_at": None,
            "replays": 0,
            "created_at": now,
            "updated_at": now,
        }
        doc["_id"] = self._collection.insert_one(doc).inserted_id
        return Delivery.from_document(doc)

    def get(self, delivery_id: str) -> Delivery | None:
        oid = object_id(delivery_id)
        doc = self._collection.find_one({"_id": oid}) if oid else None
        return Delivery.from_document(doc) if doc else None

    def get_for_vendor(self, delivery_id: str, vendor_id: str) -> Delivery | None:
        oid = object_id(delivery_id)
        doc = self._collection.find_one({"_id": oid, "vendor_id": vendor_id}) if oid else None
        return Delivery.from_document(doc) if doc else None

    def list_for_channel(self, channel_id: str, limit: int = 100) -> list[Delivery]:
        cursor = (
            self._collection.find({"channel_id": channel_id})
            .sort("created_at", DESCENDING)
            .limit(limit)
        )
        return [Delivery.from_document(doc) for doc in cursor]

    def claim(self, delivery_id: str, *, now: datetime, lease: timedelta) -> Delivery | None:
        """Take a pending delivery (or one whose sender's lease ran out) to attempt it now."""
        doc = self._collection.find_one_and_update(
            {
                "_id": ObjectId(delivery_id),
                "$or": [
                    {"status": PENDING},
                    {"status": SENDING, "lease_until": {"$lt": now}},
                ],
            },
            {
                "$set": {"status": SENDING, "lease_until": now + lease, "updated_at": now},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Delivery.from_document(doc) if doc else None

    def finish(
        self,
        delivery: Delivery,
        *,
        now: datetime,
        status: str,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "status": status,
            "lease_until": None,
            "updated_at": now,
            "next_attempt_at": next_attempt_at,
        }
        if status == DELIVERED:
            fields["delivered_at"] = now
        if error is not None:
            fields["last_error"] = error
        self._collection.update_one(
            {"_id": ObjectId(delivery.id), "status": SENDING, "attempts": delivery.attempts},
            {"$set": fields},
        )

    def replay(self, delivery_id: str, *, now: datetime) -> Delivery | None:
        """Send a delivery again (delivered or failed): pending, with a new attempt budget."""
        doc = self._collection.find_one_and_update(
            {"_id": ObjectId(delivery_id), "status": {"$in": [DELIVERED, FAILED]}},
            {
                "$set": {
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "updated_at": now,
                },
                "$inc": {"replays": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Delivery.from_document(doc) if doc else None

    def due(self, *, before: datetime, now: datetime, limit: int = 500) -> list[str]:
        """Deliveries a lost task left behind: pending and due long ago, or a lapsed lease."""
        cursor = self._collection.find(
            {
                "$or": [
                    {"status": PENDING, "next_attempt_at": {"$lt": before}},
                    {"status": SENDING, "lease_until": {"$lt": now}},
                ]
            },
            {"_id": 1},
        ).limit(limit)
        return [str(doc["_id"]) for doc in cursor]
