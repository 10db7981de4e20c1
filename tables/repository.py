"""The `table_sections` collection: named groups of tables, each table reachable by a QR code.

Document shape::

    {_id, location_id: str, name: str, imported_by: provider (absent when made by hand),
     protected: bool, tables: [{number: int, name: str}] (sorted by number),
     created_at, updated_at}

A location has at most one section per provider (a unique partial index on
`(location_id, imported_by)`); the integration's import owns that section and replaces its
tables wholesale with `replace_imported`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection

from locations.repository import object_id
from upvendo.mongo import get_db

COLLECTION = "table_sections"


@dataclass(frozen=True, slots=True)
class Table:
    number: int
    name: str

    def to_document(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name}


@dataclass(frozen=True, slots=True)
class TableSection:
    id: str
    location_id: str
    name: str
    imported_by: str | None
    protected: bool
    tables: tuple[Table, ...]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> TableSection:
        return cls(
            id=str(doc["_id"]),
            location_id=doc["location_id"],
            name=doc["name"],
            imported_by=doc.get("imported_by"),
            protected=bool(doc.get("protected", False)),
            tables=tables_from_documents(doc.get("tables", [])),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


def tables_from_documents(docs: Sequence[dict[str, Any]]) -> tuple[Table, ...]:
    return tuple(Table(number=int(doc["number"]), name=str(doc["name"])) for doc in docs)


def _now() -> datetime:
    """Now, at the millisecond precision BSON dates keep (so what we return is what we stored)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class TableSectionRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[COLLECTION]

    def list_for_location(self, location_id: str) -> list[TableSection]:
        cursor = self._collection.find({"location_id": location_id}).sort([("name", 1), ("_id", 1)])
        return [TableSection.from_document(doc) for doc in cursor]

    def get_for_location(self, location_id: str, section_id: str) -> TableSection | None:
        """The section if it belongs to the location; None when missing or another's."""
        oid = object_id(section_id)
        doc = self._collection.find_one({"_id": oid, "location_id": location_id}) if oid else None
        return TableSection.from_document(doc) if doc else None

    def get_imported(
        self, location_id: str, provider: str, session: ClientSession | None = None
    ) -> TableSection | None:
        doc = self._collection.find_one(
            {"location_id": location_id, "imported_by": provider}, session=session
        )
        return TableSection.from_document(doc) if doc else None

    def create_hand_made(
        self, location_id: str, name: str, tables: Sequence[Table]
    ) -> TableSection:
        now = _now()
        doc: dict[str, Any] = {
            "location_id": location_id,
            "name": name,
            "protected": False,
            "tables": [table.to_document() for table in tables],
            "created_at": now,
            "updated_at": now,
        }
        doc["_id"] = self._collection.insert_one(doc).inserted_id
        return TableSection.from_document(doc)

    def replace_imported(
        self,
        location_id: str,
        provider: str,
        name: str,
        tables: Sequence[Table],
        session: ClientSession | None = None,
    ) -> tuple[TableSection | None, TableSection]:
        """Create or update the provider's section in one atomic write; (before, after).

        An update pipeline keeps `updated_at` unless the name or the tables change, so an
        unchanged section is matched but not modified: MongoDB writes nothing (no oplog
        entry). `before` is None when the section was created.
        """
        now = _now()
        new_tables = [table.to_document() for table in tables]
        # $literal: a name such as "$5" must stay a string, not become a field path.
        wanted = {
            "name": {"$literal": name},
            "protected": True,
            "tables": {"$literal": new_tables},
        }
        changed = {"$or": [{"$ne": [f"${field}", value]} for field, value in wanted.items()]}
        pipeline = [
            {
                "$set": {
                    **wanted,
                    "updated_at": {"$cond": [changed, now, "$updated_at"]},
                    "created_at": {"$ifNull": ["$created_at", now]},
                }
            }
        ]
        # Two first imports racing to insert: the unique index makes one lose, and since the
        # filter is exactly that index's key, the server retries the loser as an update
        # (SERVER-14322, SERVER-47212 for findAndModify).
        before = self._collection.find_one_and_update(
            {"location_id": location_id, "imported_by": provider},
            pipeline,
            upsert=True,
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        after = self.get_imported(location_id, provider, session=session)
        assert after is not None  # just upserted, in the same session
        return (TableSection.from_document(before) if before else None), after

    def delete_unprotected(self, location_id: str, section_id: str) -> bool:
        """Delete a section unless it is protected; True when one was deleted."""
        oid = object_id(section_id)
        if oid is None:
            return False
        result = self._collection.delete_one(
            {"_id": oid, "location_id": location_id, "protected": {"$ne": True}}
        )
        return result.deleted_count == 1
