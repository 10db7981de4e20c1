"""The `integrations` collection: one ThirdPartyIntegration per (location, provider).

Document shape::

    {_id, location_id, provider,
     credentials: {base_url, enable_encryption, secrets: <Fernet token>},
     settings: {sync_time, sync_time_local, next_run_time, tables, table_section_id,
                tables_usage, payment_type_id},
     sync_status: {status, message, details, last_sync, run_id, stage, started_at, updated_at},
     connection: {status, message, updated_at},
     retest: {failures, next_at},  # while disconnected: the periodic re-test's backoff
     logs: [{at, first_at, level, event, message, context, count}, ...]  # newest first
     created_at, updated_at}

Writes are conditional updates (no read-then-write): `upsert` relies on the unique index on
(location_id, provider), `claim_sync` only matches an integration with no live import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from integrations import signals
from integrations.credentials import (
    Credentials,
    decrypt_credentials,
    encrypt_credentials,
    rotate_secrets,
)
from kassanet import truncate
from locations.repository import LocationRepository, object_id
from upvendo.mongo import get_db

COLLECTION = "integrations"
MAX_LOGS = 100
MAX_MESSAGE_CHARS = 1000
"""Every stored message (connection, sync status, log entry) is cut to this many characters:
much of it quotes the register, whose words are not ours to bound."""
CONNECTED = "connected"
DISCONNECTED = "disconnected"
SYNC_IN_PROGRESS = "in_progress"
SYNC_SUCCESS = "success"
SYNC_ERROR = "error"
# A run that wrote nothing and waits for a decision (menus/runs.py): a preview, or an import
# held by the mass-change guard; then discarded, or applied (in_progress, success).
SYNC_NEEDS_REVIEW = "needs_review"
SYNC_PREVIEW = "preview"
SYNC_DISCARDED = "discarded"
NOT_TESTED = "Not tested yet."
DEFAULT_STALE_AFTER = timedelta(minutes=30)
UPSERT_ATTEMPTS = 3

logger = logging.getLogger(__name__)


def bounded(message: str) -> str:
    """`message` cut to MAX_MESSAGE_CHARS."""
    return truncate(message, MAX_MESSAGE_CHARS)


@dataclass(frozen=True)
class Integration:
    id: str
    location_id: str
    provider: str
    credentials: Credentials
    settings: dict[str, Any]
    sync_status: dict[str, Any]
    connection: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def connected(self) -> bool:
        return self.connection.get("status") == CONNECTED

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Integration:
        return cls(
            id=str(doc["_id"]),
            location_id=doc["location_id"],
            provider=doc["provider"],
            credentials=decrypt_credentials(doc["credentials"]),
            settings=doc.get("settings", {}),
            sync_status=doc.get("sync_status", {}),
            connection=doc.get("connection", {}),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


@dataclass(frozen=True)
class LogEntry:
    at: datetime
    level: str
    event: str
    message: str
    count: int = 1
    first_at: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> LogEntry:
        return cls(
            at=doc["at"],
            level=doc["level"],
            event=doc["event"],
            message=doc["message"],
            count=doc.get("count", 1),
            first_at=doc.get("first_at", doc["at"]),
            context=doc.get("context", {}),
        )


_WITHOUT_LOGS = {"logs": 0}


class IntegrationRepository:
    def __init__(
        self,
        collection: Collection[dict[str, Any]] | None = None,
        locations: LocationRepository | None = None,
    ) -> None:
        self._collection = collection if collection is not None else get_db()[COLLECTION]
        self._locations = locations

    @property
    def locations(self) -> LocationRepository:
        if self._locations is None:
            self._locations = LocationRepository()
        return self._locations

    # -- reads --------------------------------------------------------------------------------

    def get(self, location_id: str, provider: str) -> Integration | None:
        doc = self._collection.find_one(
            {"location_id": location_id, "provider": provider}, _WITHOUT_LOGS
        )
        return Integration.from_document(doc) if doc else None

    def get_by_id(self, integration_id: str) -> Integration | None:
        oid = object_id(integration_id)
        doc = self._collection.find_one({"_id": oid}, _WITHOUT_LOGS) if oid else None
        return Integration.from_document(doc) if doc else None

    def list_by_connection_status(self, status: str) -> list[Integration]:
        cursor = self._collection.find({"connection.status": status}, _WITHOUT_LOGS)
        return [Integration.from_document(doc) for doc in cursor]

    def all_with_sync_time(self) -> list[Integration]:
        cursor = self._collection.find(
            {"settings.sync_time": {"$type": "string", "$ne": ""}}, _WITHOUT_LOGS
        )
        return [Integration.from_document(doc) for doc in cursor]

    def list_for_location(self, location_id: str) -> list[Integration]:
        cursor = self._collection.find({"location_id": location_id}, _WITHOUT_LOGS)
        return [Integration.from_document(doc) for doc in cursor.sort("provider", 1)]

    def logs(self, integration_id: str, limit: int = MAX_LOGS) -> list[LogEntry]:
        """The newest `limit` log entries, newest first (repeats already collapsed)."""
        doc = self._collection.find_one(
            {"_id": object_id(integration_id)}, {"logs": {"$slice": limit}}
        )
        return [LogEntry.from_document(entry) for entry in (doc or {}).get("logs", [])]

    # -- writes -------------------------------------------------------------------------------

    def upsert(
        self,
        location_id: str,
        provider: str,
        credentials: Credentials,
        settings: dict[str, Any],
    ) -> Integration:
        """Create the integration, or update the existing one in place.

        Only the given `settings` keys are written; the others (tables, payment type, ...)
        are kept. Two concurrent upserts for a new (location, provider) race on the unique
        index: the loser gets DuplicateKeyError and retries, which then matches the winner's
        document and updates it.
        """
        now = datetime.now(UTC)
        update = {
            "$set": {
                "credentials": encrypt_credentials(credentials),
                "updated_at": now,
                **{f"settings.{name}": value for name, value in settings.items()},
            },
            "$setOnInsert": {
                "created_at": now,
                "sync_status": {},
                "connection": {"status": DISCONNECTED, "message": NOT_TESTED, "updated_at": now},
                "logs": [],
            },
        }
        query = {"location_id": location_id, "provider": provider}
        for attempt in range(1, UPSERT_ATTEMPTS + 1):
            try:
                doc = self._collection.find_one_and_update(
                    query,
                    update,
                    projection=_WITHOUT_LOGS,
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                if attempt == UPSERT_ATTEMPTS:
                    raise
                continue
            assert doc is not None  # upsert=True with ReturnDocument.AFTER
            return Integration.from_document(doc)
        raise AssertionError("unreachable")

    def delete(self, location_id: str, provider: str) -> bool:
        result = self._collection.delete_one({"location_id": location_id, "provider": provider})
        return result.deleted_count == 1

    def update_settings(self, integration_id: str, **fields: Any) -> bool:
        """`$set` of `settings.<field>` for each keyword; False if the integration is gone."""
        if not fields:
            return False
        result = self._collection.update_one(
            {"_id": object_id(integration_id)},
            {"$set": {f"settings.{name}": value for name, value in fields.items()}},
        )
        return result.matched_count == 1

    def set_connection(self, integration_id: str, status: str, message: str = "") -> str | None:
        """Set the connection status (mirrored on the location); returns the previous status.

        The previous status comes from the same atomic update, so of two concurrent tests
        only one sees a `disconnected` -> `connected` transition. None when the integration
        does not exist.
        """
        if status not in (CONNECTED, DISCONNECTED):
            raise ValueError(f"connection status must be connected or disconnected: {status!r}")
        update: dict[str, Any] = {
            "$set": {
                "connection": {
                    "status": status,
                    "message": bounded(message),
                    "updated_at": datetime.now(UTC),
                }
            }
        }
        if status == CONNECTED:
            update["$unset"] = {"retest": ""}  # the next disconnection starts a fresh backoff
        before = self._collection.find_one_and_update(
            {"_id": object_id(integration_id)},
            update,
            projection={"location_id": 1, "provider": 1, "connection": 1},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        self.locations.set_pos_connection(
            before["location_id"], before["provider"], status, bounded(message)
        )
        previous: str | None = before.get("connection", {}).get("status")
        signals.connection_changed.send_robust(
            sender=type(self),
            integration_id=integration_id,
            location_id=before["location_id"],
            provider=before["provider"],
            status=status,
            previous=previous,
            message=message,
        )
        return previous

    # -- periodic re-test of disconnected registers (orders.services.claim_due_retests) -------

    def due_retests(self, now: datetime, limit: int = 1000) -> list[tuple[str, int]]:
        """Disconnected integrations whose re-test is due: (id, failed re-tests so far)."""
        cursor = self._collection.find(
            {
                "connection.status": DISCONNECTED,
                "$or": [{"retest.next_at": {"$lte": now}}, {"retest.next_at": None}],
            },
            {"retest": 1},
        ).limit(limit)
        return [
            (str(doc["_id"]), int((doc.get("retest") or {}).get("failures", 0))) for doc in cursor
        ]

    def claim_retest(
        self, integration_id: str, failures: int, now: datetime, next_at: datetime
    ) -> bool:
        """Take the due re-test and set the next one at `next_at`; False when another took it.

        Conditional on the `failures` that was read, so of two beat ticks only one re-tests.
        """
        matched_failures: Any = failures if failures else {"$in": [0, None]}
        result = self._collection.update_one(
            {
                "_id": object_id(integration_id),
                "connection.status": DISCONNECTED,
                "$or": [{"retest.next_at": {"$lte": now}}, {"retest.next_at": None}],
                "retest.failures": matched_failures,
            },
            {"$set": {"retest": {"failures": failures + 1, "next_at": next_at}}},
        )
        return result.modified_count == 1

    def claim_sync(
        self, integration_id: str, run_id: str, stale_after: timedelta = DEFAULT_STALE_AFTER
    ) -> bool:
        """Mark an import `in_progress` for `run_id`, unless another live one holds it.

        An in-progress import whose last progress is older than `stale_after` is considered
        dead (its worker was lost) and may be taken over.
        """
        now = datetime.now(UTC)
        result = self._collection.update_one(
            {
                "_id": object_id(integration_id),
                "$or": [
                    {"sync_status.status": {"$ne": SYNC_IN_PROGRESS}},
                    {"sync_status.updated_at": {"$lt": now - stale_after}},
                    {"sync_status.updated_at": {"$exists": False}},
                ],
            },
            {
                "$set": {
                    "sync_status.status": SYNC_IN_PROGRESS,
                    "sync_status.run_id": run_id,
                    "sync_status.stage": None,
                    "sync_status.message": "Import started.",
                    "sync_status.details": {},
                    "sync_status.started_at": now,
                    "sync_status.updated_at": now,
                }
            },
        )
        return result.modified_count == 1

    def update_sync_status(self, integration_id: str, run_id: str, **fields: Any) -> bool:
        """`$set` of `sync_status.<field>`, only while `run_id` owns the sync status."""
        if isinstance(fields.get("message"), str):
            fields["message"] = bounded(fields["message"])
        result = self._collection.update_one(
            {"_id": object_id(integration_id), "sync_status.run_id": run_id},
            {
                "$set": {
                    **{f"sync_status.{name}": value for name, value in fields.items()},
                    "sync_status.updated_at": datetime.now(UTC),
                }
            },
        )
        return result.matched_count == 1

    def finish_sync(
        self,
        integration_id: str,
        run_id: str,
        status: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> bool:
        """End the run's sync status: ``success`` or ``error`` (which move ``last_sync``), or
        ``needs_review`` / ``preview`` / ``discarded`` (nothing was written to the menu)."""
        if status not in (
            SYNC_SUCCESS,
            SYNC_ERROR,
            SYNC_NEEDS_REVIEW,
            SYNC_PREVIEW,
            SYNC_DISCARDED,
        ):
            raise ValueError(
                "a sync finishes with success, error, needs_review, preview or discarded, "
                f"not {status!r}"
            )
        fields: dict[str, Any] = {}
        if status in (SYNC_SUCCESS, SYNC_ERROR):
            fields["last_sync"] = datetime.now(UTC)
        finished = self.update_sync_status(
            integration_id,
            run_id,
            status=status,
            message=message,
            details=details or {},
            stage=None,
            **fields,
        )
        if finished:
            signals.sync_finished.send_robust(
                sender=type(self),
                integration_id=integration_id,
                status=status,
                message=message,
                details=details or {},
            )
        return finished

    def append_log(
        self, integration_id: str, level: str, event: str, message: str, **context: Any
    ) -> None:
        """Add a log entry at the front of the bounded list (at most MAX_LOGS entries).

        An entry equal to the newest one (same level, event and message) is not added again:
        the newest entry's `count` goes up and its `at` moves to now.
        """
        message = bounded(message)
        now = datetime.now(UTC)
        oid = object_id(integration_id)
        repeated = self._collection.update_one(
            {
                "_id": oid,
                "logs.0.level": level,
                "logs.0.event": event,
                "logs.0.message": message,
            },
            {"$inc": {"logs.0.count": 1}, "$set": {"logs.0.at": now, "logs.0.context": context}},
        )
        if repeated.matched_count:
            return
        entry = {
            "at": now,
            "first_at": now,
            "level": level,
            "event": event,
            "message": message,
            "context": context,
            "count": 1,
        }
        self._collection.update_one(
            {"_id": oid},
            {"$push": {"logs": {"$each": [entry], "$position": 0, "$slice": MAX_LOGS}}},
        )

    # -- daily sync schedule (integrations/schedule.py) ----------------------------------------

    def list_due_runs(self, now: datetime, limit: int = 500) -> list[Integration]:
        """Integrations whose daily sync is due (`next_run_time <= now`), the most overdue first."""
        cursor = self._collection.find({"settings.next_run_time": {"$lte": now}}, _WITHOUT_LOGS)
        return [
            Integration.from_document(doc)
            for doc in cursor.sort("settings.next_run_time", 1).limit(limit)
        ]

    def claim_due_run(self, integration_id: str, due: datetime, **schedule: Any) -> bool:
        """Move the run due at `due` to the new `settings` (next_run_time, sync_time...).

        Conditional on `next_run_time` still being `due`: of several schedulers that saw the
        same due run only one succeeds, and a schedule changed meanwhile is left alone.
        """
        result = self._collection.update_one(
            {"_id": object_id(integration_id), "settings.next_run_time": due},
            {"$set": {f"settings.{name}": value for name, value in schedule.items()}},
        )
        return result.matched_count == 1

    def reencrypt_all_credentials(self) -> int:
        """Re-encrypt every stored secret with the current key; returns how many changed.

        Each write is conditional on the ciphertext it read, so a concurrent connect (which
        writes fresh ciphertext with the current key) is never overwritten.
        """
        changed = 0
        for doc in self._collection.find({}, {"credentials.secrets": 1}):
            old = doc["credentials"]["secrets"]
            new = rotate_secrets(old)
            result = self._collection.update_one(
                {"_id": doc["_id"], "credentials.secrets": old},
                {"$set": {"credentials.secrets": new}},
            )
            changed += result.modified_count
        return changed
