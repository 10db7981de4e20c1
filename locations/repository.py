"""The `locations` collection: a restaurant location of the ordering platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.collection import Collection

from upvendo.mongo import get_db

COLLECTION = "locations"


@dataclass(frozen=True)
class Location:
    id: str
    vendor_id: str
    name: str
    timezone: str
    currency: str
    created_at: datetime
    # provider -> {"status": "connected" | "disconnected", "message": str, "updated_at": datetime}
    pos_connection: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Location:
        return cls(
            id=str(doc["_id"]),
            vendor_id=doc["vendor_id"],
            name=doc["name"],
            timezone=doc["timezone"],
            currency=doc["currency"],
            created_at=doc["created_at"],
            pos_connection=doc.get("pos_connection", {}),
        )


def object_id(value: str) -> ObjectId | None:
    """The ObjectId for an id from a URL, or None when it cannot be one (so: not found)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


class LocationRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[COLLECTION]

    def create(self, *, vendor_id: str, name: str, timezone: str, currency: str) -> Location:
        doc = {
            "vendor_id": vendor_id,
            "name": name,
            "timezone": timezone,
            "currency": currency,
            "created_at": datetime.now(UTC),
            "pos_connection": {},
        }
        result = self._collection.insert_one(doc)
        doc["_id"] = result.inserted_id
        return Location.from_document(doc)

    def get(self, location_id: str) -> Location | None:
        oid = object_id(location_id)
        doc = self._collection.find_one({"_id": oid}) if oid else None
        return Location.from_document(doc) if doc else None

    def get_for_vendor(self, location_id: str, vendor_id: str) -> Location | None:
        """The location if it belongs to the vendor; None when missing or another vendor's."""
        oid = object_id(location_id)
        doc = self._collection.find_one({"_id": oid, "vendor_id": vendor_id}) if oid else None
        return Location.from_document(doc) if doc else None

    def list_for_vendor(self, vendor_id: str) -> list[Location]:
        cursor = self._collection.find({"vendor_id": vendor_id}).sort("name", 1)
        return [Location.from_document(doc) for doc in cursor]

    def list_all(self) -> list[Location]:
        """Every vendor's locations (the platform's support role)."""
        cursor = self._collection.find({}).sort([("vendor_id", 1), ("name", 1)])
        return [Location.from_document(doc) for doc in cursor]

    def find_by_name(self, vendor_id: str, name: str) -> Location | None:
        doc = self._collection.find_one({"vendor_id": vendor_id, "name": name})
        return Location.from_document(doc) if doc else None

    def set_pos_connection(
        self, location_id: str, provider: str, status: str, message: str = ""
    ) -> None:
        """Mirror an integration's connection status on its location."""
        self._collection.update_one(
            {"_id": ObjectId(location_id)},
            {
                "$set": {
                    f"pos_connection.{provider}": {
                        "status": status,
                        "message": message,
                        "updated_at": datetime.now(UTC),
                    }
                }
            },
        )

    def clear_pos_connection(self, location_id: str, provider: str) -> None:
        self._collection.update_one(
            {"_id": ObjectId(location_id)}, {"$unset": {f"pos_connection.{provider}": ""}}
        )
