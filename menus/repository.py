"""Repositories of the menu records (one per collection) and of an import's staging area.

Menu records are imported per provider: each carries ``location_id`` (str), ``imported_by``
(the provider) and, except menus and inventory, ``external_ids.{provider}`` (the register's
id). References between records (``parent_id``, ``category_id``, ``modifier_group_ids``,
``item_ids``, ``display_group_ids``, ``item_id``) are the referenced ``_id`` as a 24-hex
string, like ``location_id``. Money is ``Decimal128`` with two decimals.

:class:`ImportRunRepository` holds what one import run's stages hand to each other (the
register's answers, the planned changes), keyed by run id and expired by a TTL index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from bson import ObjectId
from pymongo import DeleteMany, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database

from integrations.repository import SYNC_IN_PROGRESS, IntegrationRepository
from locations.repository import object_id
from menus.diff import LOCAL_FIELDS
from upvendo.mongo import get_db

__all__ = [
    "CategoryRepository",
    "DisplayGroupRepository",
    "ImportRunRepository",
    "ImportedRecordRepository",
    "InventoryRepository",
    "ItemRepository",
    "MenuImportStatusRepository",
    "MenuRepository",
    "ModifierGroupRepository",
    "Page",
    "StalledImport",
]

WRITE_BATCH = 1000


class Page:
    """One page of a location's records."""

    def __init__(self, total: int, documents: list[dict[str, Any]]) -> None:
        self.total = total
        self.documents = documents


class ImportedRecordRepository:
    """A collection of records that an import creates, updates and deletes."""

    collection_name: ClassVar[str]
    # How an import finds "the same record": "external_id" (external_ids.{provider}),
    # "provider" (one record per provider and location) or a field name.
    import_key: ClassVar[str] = "external_id"
    list_sort: ClassVar[list[tuple[str, int]]] = [("name", 1), ("_id", 1)]

    def __init__(self, db: Database[dict[str, Any]] | None = None) -> None:
        self._db = db

    @property
    def collection(self) -> Collection[dict[str, Any]]:
        return (self._db if self._db is not None else get_db())[self.collection_name]

    def _import_filter(self, location_id: str, provider: str, key: str) -> dict[str, Any]:
        if self.import_key == "external_id":
            return {"location_id": location_id, f"external_ids.{provider}": key}
        if self.import_key == "provider":
            return {"location_id": location_id, "imported_by": provider}
        return {"location_id": location_id, self.import_key: key}

    def for_import(self, location_id: str, provider: str) -> list[dict[str, Any]]:
        """The provider's records of the location, without the locally edited fields."""
        query: dict[str, Any] = {"location_id": location_id, "imported_by": provider}
        if self.import_key == "external_id":
            query = {
                "location_id": location_id,
                "$or": [
                    {"imported_by": provider},
                    {f"external_ids.{provider}": {"$exists": True}},
                ],
            }
        return list(self.collection.find(query, {name: 0 for name in LOCAL_FIELDS}))

    def apply(
        self,
        ops: Iterable[dict[str, Any]],
        location_id: str,
        provider: str,
        session: ClientSession | None = None,
    ) -> None:
        """Write planned operations (:class:`menus.diff.EntityPlan`) in batched bulk writes.

        Creates are upserts keyed by the import key that insert the planned ``_id``; updates
        ``$set`` only the changed import fields of that same record; deletes remove the
        provider's records that are gone.
        """
        batch: list[UpdateOne | DeleteMany] = []
        deletes: list[ObjectId] = []
        for op in ops:
            kind = op["op"]
            key_filter = self._import_filter(location_id, provider, op["key"])
            if kind == "create":
                batch.append(
                    UpdateOne(
                        key_filter,
                        {
                            "$set": op["fields"],
                            "$setOnInsert": {"_id": op["_id"], **op["defaults"]},
                        },
                        upsert=True,
                    )
                )
            elif kind == "update":
                batch.append(UpdateOne({**key_filter, "_id": op["_id"]}, {"$set": op["fields"]}))
            else:
                deletes.append(op["_id"])
            if len(batch) >= WRITE_BATCH:
                self.collection.bulk_write(batch, ordered=False, session=session)
                batch = []
        for start in range(0, len(deletes), WRITE_BATCH):
            ids = deletes[start : start + WRITE_BATCH]
            batch.append(DeleteMany({"_id": {"$in": ids}, "location_id": location_id}))
        if batch:
            self.collection.bulk_write(batch, ordered=False, session=session)

    def page_for_location(
        self, location_id: str, *, limit: int, offset: int, query: dict[str, Any] | None = None
    ) -> Page:
        selector = {"location_id": location_id, **(query or {})}
        total = self.collection.count_documents(selector)
        cursor = self.collection.find(selector).sort(self.list_sort).skip(offset).limit(limit)
        return Page(total, list(cursor))

    def get_many(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        oids = [oid for oid in (object_id(i) for i in set(ids)) if oid is not None]
        if not oids:
            return {}
        return {str(doc["_id"]): doc for doc in self.collection.find({"_id": {"$in": oids}})}

    def dump_for_location(self, location_id: str) -> list[dict[str, Any]]:
        """Every record of the location in ``_id`` order (a snapshot to compare)."""
        return list(self.collection.find({"location_id": location_id}).sort("_id", 1))


class CategoryRepository(ImportedRecordRepository):
    collection_name = "categories"


class ItemRepository(ImportedRecordRepository):
    collection_name = "items"


class ModifierGroupRepository(ImportedRecordRepository):
    collection_name = "modifier_groups"


class DisplayGroupRepository(ImportedRecordRepository):
    collection_name = "display_groups"
    list_sort = [("imported_by", 1), ("sort", 1), ("_id", 1)]


class MenuRepository(ImportedRecordRepository):
    collection_name = "menus"
    import_key = "provider"
    list_sort = [("imported_by", 1), ("_id", 1)]


class InventoryRepository(ImportedRecordRepository):
    collection_name = "inventory"
    import_key = "item_id"
    list_sort = [("item_id", 1)]


MENU_REPOSITORIES: tuple[type[ImportedRecordRepository], ...] = (
    CategoryRepository,
    ModifierGroupRepository,
    ItemRepository,
    DisplayGroupRepository,
    MenuRepository,
    InventoryRepository,
)


class ImportRunRepository:
    """The staging area of import runs (collection ``import_runs``).

    One ``run`` document per run (``_id`` = run id) with its state, and chunk documents
    ``{run_id, kind, seq, values | json}`` with the lists the stages hand over. Everything
    carries ``expires_at`` (TTL index) so a run that died leaves nothing behind for long.
    """

    collection_name = "import_runs"
    CHUNK = 1000
    TTL = timedelta(days=1)

    def __init__(self, db: Database[dict[str, Any]] | None = None) -> None:
        self._db = db

    @property
    def collection(self) -> Collection[dict[str, Any]]:
        return (self._db if self._db is not None else get_db())[self.collection_name]

    def _expires_at(self) -> datetime:
        return datetime.now(UTC) + self.TTL

    def start(self, run_id: str, **state: Any) -> None:
        """(Re)start a run's staging: drops what an earlier attempt of the run left."""
        self.collection.delete_many({"run_id": run_id})
        self.collection.replace_one(
            {"_id": run_id},
            {
                "run_id": run_id,
                "kind": "run",
                "applied": False,
                "expires_at": self._expires_at(),
                **state,
            },
            upsert=True,
        )

    def state(self, run_id: str, session: ClientSession | None = None) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": run_id}, session=session)

    def update_state(
        self, run_id: str, session: ClientSession | None = None, **fields: Any
    ) -> None:
        self.collection.update_one({"_id": run_id}, {"$set": fields}, session=session)

    def _chunks(self, run_id: str, kind: str, chunks: Iterator[dict[str, Any]]) -> None:
        self.collection.delete_many({"run_id": run_id, "kind": kind})
        expires_at = self._expires_at()
        documents = [
            {"run_id": run_id, "kind": kind, "seq": seq, "expires_at": expires_at, **chunk}
            for seq, chunk in enumerate(chunks)
        ]
        if documents:
            self.collection.insert_many(documents, ordered=False)

    def _load(self, run_id: str, kind: str) -> Iterator[dict[str, Any]]:
        return self.collection.find({"run_id": run_id, "kind": kind}).sort("seq", 1)

    def save(self, run_id: str, kind: str, values: Sequence[Any]) -> None:
        """Save a list of BSON values (planned operations, id pairs ...)."""
        size = self.CHUNK
        self._chunks(
            run_id,
            kind,
            ({"values": list(values[i : i + size])} for i in range(0, len(values), size)),
        )

    def load(self, run_id: str, kind: str) -> list[Any]:
        return [value for chunk in self._load(run_id, kind) for value in chunk["values"]]

    def save_json(self, run_id: str, kind: str, values: Sequence[Any]) -> None:
        """Save a list of arbitrary JSON values (the register's answers: any keys at all)."""
        size = self.CHUNK
        self._chunks(
            run_id,
            kind,
            (
                {"json": json.dumps(values[i : i + size], ensure_ascii=False)}
                for i in range(0, len(values), size)
            ),
        )

    def load_json(self, run_id: str, kind: str) -> list[Any]:
        return [value for chunk in self._load(run_id, kind) for value in json.loads(chunk["json"])]

    def delete(self, run_id: str) -> None:
        self.collection.delete_many({"$or": [{"_id": run_id}, {"run_id": run_id}]})

    def keep(self, run_id: str, ttl: timedelta = TTL) -> None:
        """Keep a held run's staging (plans) for ``ttl`` more, so it can still be applied."""
        self.collection.update_many(
            {"$or": [{"_id": run_id}, {"run_id": run_id}]},
            {"$set": {"expires_at": datetime.now(UTC) + ttl}},
        )


@dataclass(frozen=True)
class StalledImport:
    """An in-progress import whose progress (``sync_status.updated_at``) is old."""

    integration_id: str
    provider: str
    run_id: str
    stage: str | None
    resumes: int
    updated_at: datetime


def _resumes_filter(resumes: int) -> dict[str, Any]:
    # A run claimed before resumption existed has no counter: it is generation 0.
    return {"sync_status.resumes": {"$in": [0, None]} if resumes == 0 else resumes}


class MenuImportStatusRepository(IntegrationRepository):
    """The integrations' ``sync_status`` as the menu import's stages and resumption use it.

    ``sync_status.resumes`` is the run's generation: 0 when claimed, +1 on each resumption.
    Every chain carries the generation it was enqueued with, and a stage only starts while
    its generation is current, so a stage of a superseded chain (a redelivery of the killed
    worker's message, a message queued before the resumption) does nothing.
    """

    def start_stage(self, integration_id: str, run_id: str, resumes: int, **fields: Any) -> bool:
        """``$set`` of ``sync_status.<field>`` if ``run_id`` in generation ``resumes`` is live."""
        result = self._collection.update_one(
            {
                "_id": object_id(integration_id),
                "sync_status.run_id": run_id,
                "sync_status.status": SYNC_IN_PROGRESS,
                **_resumes_filter(resumes),
            },
            {
                "$set": {
                    **{f"sync_status.{name}": value for name, value in fields.items()},
                    "sync_status.updated_at": datetime.now(UTC),
                }
            },
        )
        return result.matched_count == 1

    def stalled_imports(self, *, before: datetime, limit: int) -> list[StalledImport]:
        """In-progress imports without progress since ``before``, the oldest first."""
        cursor = self._collection.find(
            {"sync_status.status": SYNC_IN_PROGRESS, "sync_status.updated_at": {"$lt": before}},
            {"provider": 1, "sync_status": 1},
        )
        return [
            StalledImport(
                integration_id=str(doc["_id"]),
                provider=doc["provider"],
                run_id=doc["sync_status"]["run_id"],
                stage=doc["sync_status"].get("stage"),
                resumes=doc["sync_status"].get("resumes") or 0,
                updated_at=doc["sync_status"]["updated_at"],
            )
            for doc in cursor.sort("sync_status.updated_at", 1).limit(limit)
        ]

    def claim_resumption(self, stalled: StalledImport, *, now: datetime, message: str) -> bool:
        """Move the run to generation ``resumes + 1``, only if nobody moved it since it was
        seen stalled (of several resumers, exactly one wins)."""
        result = self._collection.update_one(
            {
                "_id": object_id(stalled.integration_id),
                "sync_status.run_id": stalled.run_id,
                "sync_status.status": SYNC_IN_PROGRESS,
                "sync_status.updated_at": stalled.updated_at,
                **_resumes_filter(stalled.resumes),
            },
            {
                "$set": {
                    "sync_status.resumes": stalled.resumes + 1,
                    "sync_status.message": message,
                    "sync_status.updated_at": now,
                }
            },
        )
        return result.modified_count == 1

    # -- the menu's revision: the run id of the last import applied (menus/runs.py) ---------

    def menu_revision(self, integration_id: str) -> str | None:
        doc = self._collection.find_one({"_id": object_id(integration_id)}, {"menu_revision": 1})
        revision: str | None = (doc or {}).get("menu_revision")
        return revision

    def set_menu_revision(
        self, integration_id: str, run_id: str, session: ClientSession | None = None
    ) -> None:
        """Written in the import's transaction: a preview planned on an older revision no
        longer describes the menu and is refused."""
        self._collection.update_one(
            {"_id": object_id(integration_id)},
            {"$set": {"menu_revision": run_id}},
            session=session,
        )
