"""Menu versions: the provider's menu as it was before an applied import, and its restore.

Before an import (or a restore) writes, the provider's records of the location — categories,
modifier groups, items, display groups and the menu, whole documents, local edits included —
are copied into ``menu_version_chunks`` (``{version_id, entity, seq, docs}``, at most 1,000
documents each). The version document (``menu_versions``: ``{_id, integration_id,
location_id, provider, run_id, created_at, counts}``; ``_id`` is the id of the run that
replaced it) is inserted in the import's own transaction, so only a committed import leaves
a version. An import that changes nothing but stock keeps no version. The newest
``MENU_VERSIONS_KEEP`` (default 5) per integration are kept.

Restoring (:class:`VersionRestorer`) replaces the provider's records with the version's in ONE
transaction, keeping every ``_id`` (orders refer to items by id; an order already priced holds
its own prices and is never touched). An item the register no longer has is restored with
``register_missing: true`` (the next import removes it, or clears the flag if the register
has it again). The restore is recorded as a run (``trigger: restore``), keeps the menu it
replaced as a version of its own, and moves the integration's ``menu_revision``, so a preview
planned before it is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from pymongo import DESCENDING
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database

from integrations.events import emit_reload_menu
from integrations.repository import SYNC_SUCCESS, Integration
from menus.mapping import Issues, compile_pager_patterns, parse_products, select_menu_products
from menus.runs import STATUS_ERROR, STATUS_IN_PROGRESS, STATUS_SUCCESS, ImportHistoryRepository
from upvendo.mongo import get_client, get_db

if TYPE_CHECKING:
    from integrations.services import AbstractKassanetService

__all__ = [
    "VERSION_ENTITIES",
    "MenuVersionRepository",
    "RestoreFailedError",
    "VersionNotFoundError",
    "VersionRestorer",
]

VERSION_ENTITIES = ("categories", "modifier_groups", "items", "display_groups", "menus")
VERSIONS = "menu_versions"
CHUNKS = "menu_version_chunks"
CHUNK = 1000
TRIGGER_RESTORE = "restore"
FLAG_MISSING = "register_missing"


class VersionNotFoundError(LookupError):
    pass


class RestoreFailedError(Exception):
    """The restore's transaction failed; the menu is unchanged (the message says so)."""


def _provider_query(location_id: str, provider: str) -> dict[str, Any]:
    return {"location_id": location_id, "imported_by": provider}


class MenuVersionRepository:
    def __init__(self, db: Database[dict[str, Any]] | None = None) -> None:
        self._db = db

    @property
    def db(self) -> Database[dict[str, Any]]:
        return self._db if self._db is not None else get_db()

    @property
    def versions(self) -> Collection[dict[str, Any]]:
        return self.db[VERSIONS]

    @property
    def chunks(self) -> Collection[dict[str, Any]]:
        return self.db[CHUNKS]

    def snapshot(self, version_id: str, location_id: str, provider: str) -> dict[str, int]:
        """Copy the provider's current menu records into the version's chunks (a retry of
        the same version starts over); returns the count per entity."""
        self.drop_chunks(version_id)
        counts: dict[str, int] = {}
        for entity in VERSION_ENTITIES:
            cursor = self.db[entity].find(_provider_query(location_id, provider)).sort("_id", 1)
            batch: list[dict[str, Any]] = []
            seq = 0
            count = 0
            for doc in cursor:
                batch.append(doc)
                count += 1
                if len(batch) >= CHUNK:
                    self._insert_chunk(version_id, entity, seq, batch)
                    seq, batch = seq + 1, []
            if batch:
                self._insert_chunk(version_id, entity, seq, batch)
            counts[entity] = count
        return counts

    def _insert_chunk(self, version_id: str, entity: str, seq: int, docs: list[Any]) -> None:
        self.chunks.insert_one(
            {"version_id": version_id, "entity": entity, "seq": seq, "docs": docs}
        )

    def commit(
        self,
        version_id: str,
        integration: Integration,
        counts: dict[str, int],
        session: ClientSession | None = None,
    ) -> None:
        """The version's document, written in the transaction that replaces the menu."""
        self.versions.replace_one(
            {"_id": version_id},
            {
                "integration_id": integration.id,
                "location_id": integration.location_id,
                "provider": integration.provider,
                "run_id": version_id,
                "created_at": datetime.now(UTC),
                "counts": counts,
            },
            upsert=True,
            session=session,
        )

    def drop_chunks(self, version_id: str) -> None:
        self.chunks.delete_many({"version_id": version_id})

    def trim(self, integration_id: str, keep: int) -> None:
        cursor = (
            self.versions.find({"integration_id": integration_id}, {"_id": 1})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(max(keep, 0))
        )
        ids = [doc["_id"] for doc in cursor]
        if ids:
            self.versions.delete_many({"_id": {"$in": ids}})
            self.chunks.delete_many({"version_id": {"$in": ids}})

    def list(self, integration_id: str) -> list[dict[str, Any]]:
        cursor = self.versions.find({"integration_id": integration_id}).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        return list(cursor)

    def get(self, integration_id: str, version_id: str) -> dict[str, Any] | None:
        return self.versions.find_one({"_id": version_id, "integration_id": integration_id})

    def load(self, version_id: str, entity: str) -> Iterator[dict[str, Any]]:
        for chunk in self.chunks.find({"version_id": version_id, "entity": entity}).sort("seq", 1):
            yield from chunk["docs"]


def keep_versions() -> int:
    return int(settings.MENU_VERSIONS_KEEP)


class VersionRestorer:
    """Puts a kept version back (an admin action; roles: admin)."""

    def __init__(self, service: AbstractKassanetService) -> None:
        self.service = service
        self.provider = service.provider
        self.integrations = service.integrations
        self.versions = MenuVersionRepository()
        self.history = ImportHistoryRepository()

    def restore(self, integration: Integration, version_id: str) -> dict[str, Any]:
        """Restore ``version_id``; returns the restore's run. Raises VersionNotFoundError,
        ImportInProgressError, and kassanet errors (the register is read to flag the items
        it no longer has; nothing is written then)."""
        from menus.importer import ImportInProgressError, MenuImporter
        from menus.repository import MenuImportStatusRepository

        version = self.versions.get(integration.id, version_id)
        if version is None:
            raise VersionNotFoundError(f"This integration has no menu version {version_id!r}.")
        with self.service.client(integration) as client:
            raw = client.get_all_products_raw()
        patterns = compile_pager_patterns(settings.PAGER_NAME_PATTERNS)
        on_register = {
            p.id for p in select_menu_products(parse_products(raw, Issues()), patterns, Issues())
        }

        run_id = uuid.uuid4().hex
        if not self.integrations.claim_sync(integration.id, run_id):
            raise ImportInProgressError(
                f"A {self.service.display_name} menu import is already in progress for this "
                "location; wait for it to finish."
            )
        now = datetime.now(UTC)
        self.history.create(
            run_id,
            integration_id=integration.id,
            location_id=integration.location_id,
            provider=self.provider,
            trigger=TRIGGER_RESTORE,
            preview=False,
            confirm_deletions=False,
            status=STATUS_IN_PROGRESS,
            stage=None,
            message=f"Restoring the menu version {version_id}.",
            created_at=now,
            started_at=now,
            updated_at=now,
            finished_at=None,
            durations={},
            version_id=version_id,
        )
        MenuImporter(self.service).trim_history(integration)
        location_id = integration.location_id
        try:
            replaced = self.versions.snapshot(run_id, location_id, self.provider)
            restored: dict[str, list[dict[str, Any]]] = {
                entity: list(self.versions.load(version_id, entity)) for entity in VERSION_ENTITIES
            }
            missing = []
            for item in restored["items"]:
                key = (item.get("external_ids") or {}).get(self.provider)
                if key is not None and str(key) not in on_register:
                    item[FLAG_MISSING] = True
                    missing.append({"pos_id": str(key), "name": item.get("name")})
                else:
                    item.pop(FLAG_MISSING, None)
            db = get_db()

            def write(session: ClientSession) -> None:
                for entity in VERSION_ENTITIES:
                    collection = db[entity]
                    collection.delete_many(
                        _provider_query(location_id, self.provider), session=session
                    )
                    docs = restored[entity]
                    for start in range(0, len(docs), CHUNK):
                        collection.insert_many(docs[start : start + CHUNK], session=session)
                self.versions.commit(run_id, integration, replaced, session)

            with get_client().start_session() as session:
                session.with_transaction(write)
        except Exception as error:
            self.versions.drop_chunks(run_id)
            message = f"The menu version could not be restored ({type(error).__name__}); the menu is unchanged."
            self.history.update(
                run_id, status=STATUS_ERROR, message=message, finished_at=datetime.now(UTC)
            )
            self.integrations.finish_sync(
                integration.id, run_id, "error", message, {"run_id": run_id}
            )
            raise RestoreFailedError(message) from error
        self.versions.trim(integration.id, keep_versions())
        MenuImportStatusRepository(locations=self.service.locations).set_menu_revision(
            integration.id, run_id
        )
        counts = {entity: len(docs) for entity, docs in restored.items()}
        message = (
            f"Menu version restored: {counts['items']} items, {counts['display_groups']} display "
            f"groups; {len(missing)} item(s) the register no longer has are flagged."
        )
        end = datetime.now(UTC)
        self.history.update(
            run_id,
            status=STATUS_SUCCESS,
            message=message,
            finished_at=end,
            applied_at=end,
            updated_at=end,
            restored=counts,
            register_missing=missing[:500],
            register_missing_total=len(missing),
        )
        emit_reload_menu(location_id, self.provider, reason="menu version restored")
        self.integrations.finish_sync(
            integration.id,
            run_id,
            SYNC_SUCCESS,
            message,
            {"run_id": run_id, "version_id": version_id, "restored": counts},
        )
        self.integrations.append_log(
            integration.id, "info", "menu_restore", message, run_id=run_id, version_id=version_id
        )
        run = self.history.get(run_id)
        assert run is not None
        return run
