"""Import runs as a resource: every menu import's history entry, its report and the guard.

Every import (manual, daily, the command, a preview, the apply of a held run) is one run in
the ``menu_import_runs`` collection, ``_id`` = the run id the import's stages share::

    {_id, integration_id, location_id, provider, trigger, preview, confirm_deletions,
     status, stage, message, created_at, started_at, updated_at, finished_at, applied_at,
     durations: {stage: seconds}, read: {products, selections, tables}, content_hash,
     base_revision, report: {entity: counts}, diff: {entity: {created|updated|deleted:
     {total, entries}}}, skipped: {total, reasons: {code: count}, entries, truncated},
     guard: {held, existing, deleted, remaining, share, max_share, reason}, warnings, error}

The run's staging data (``import_runs``, :class:`menus.repository.ImportRunRepository`) is
separate: it holds the register's answers and the planned operations, and for a ``preview``
or ``needs_review`` run it is kept until the run is applied or discarded (or expires), so
applying writes exactly what the report showed.

The history is bounded: ``MENU_IMPORT_HISTORY`` runs per integration (default 50), the oldest
go first. Lists in a report are capped (``REPORT_CAP`` entries each) and always carry their
exact ``total``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bson import Decimal128, ObjectId
from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from menus.mapping import MAX_SKIPS, SKIP_NOT_IN_SELECTION, SKIP_REASONS
from upvendo.mongo import get_db

__all__ = [
    "RUN_STATUSES",
    "GuardVerdict",
    "ImportHistoryRepository",
    "build_diff",
    "build_skipped",
    "check_guard",
    "content_hash",
]

COLLECTION = "menu_import_runs"

STATUS_IN_PROGRESS = "in_progress"
STATUS_SUCCESS = "success"
STATUS_ERROR = "error"
STATUS_NEEDS_REVIEW = "needs_review"
STATUS_DISCARDED = "discarded"
STATUS_PREVIEW = "preview"
RUN_STATUSES = (
    STATUS_IN_PROGRESS,
    STATUS_SUCCESS,
    STATUS_ERROR,
    STATUS_NEEDS_REVIEW,
    STATUS_DISCARDED,
    STATUS_PREVIEW,
)
HELD_STATUSES = (STATUS_PREVIEW, STATUS_NEEDS_REVIEW)  # may be applied or discarded

TRIGGER_MANUAL = "manual"
TRIGGER_DAILY = "daily"
TRIGGER_COMMAND = "command"
TRIGGERS = (TRIGGER_MANUAL, TRIGGER_DAILY, TRIGGER_COMMAND)

# Entries kept per list of a report (created / updated / deleted of one entity).
REPORT_CAP = 200
# Values of a list field shown in a change (item ids of a display group ...).
VALUE_LIST_CAP = 20
DIFF_ENTITIES = ("categories", "modifier_groups", "items", "display_groups", "menus")
_KINDS = {"create": "created", "update": "updated", "delete": "deleted"}
# Fields an import moves on every write; not a change anyone reviews.
_HIDDEN_FIELDS = frozenset({"updated_at", "location_id", "imported_by"})
# What the run list leaves out (the full report is on the run itself).
_SUMMARY_PROJECTION = {"diff": 0, "skipped.entries": 0, "warnings": 0}


def content_hash(
    products: Sequence[Any], selections: Sequence[Mapping[str, Any]], tables: Sequence[Any]
) -> str:
    """A SHA-256 of what the register answered (products as raw JSON, selections, tables).

    Canonical JSON (sorted keys), so the same catalog always gives the same hash.
    """
    payload = json.dumps(
        [list(products), [dict(s) for s in selections], [list(t) for t in tables]],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def register_hash(products: Sequence[Any], selections: Iterable[Any], tables: Iterable[Any]) -> str:
    """:func:`content_hash` of a register's answers as the kassanet client returns them.

    Stock is left out: it moves with every sale, and the stock refresh keeps it current (an
    applied preview's stock is refreshed right after it is applied).
    """
    return content_hash(
        [
            {key: value for key, value in product.items() if key != "stock"}
            if isinstance(product, dict)
            else product
            for product in products
        ],
        [asdict(selection) for selection in selections],
        [[table.number, table.name] for table in tables],
    )


def _display(value: Any) -> Any:
    """A stored value as a report shows it: money as "12.50", ids as strings, lists capped."""
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        shown: list[Any] = []
        for entry in value[:VALUE_LIST_CAP]:
            if isinstance(entry, dict) and "name" in entry:  # a modifier
                price = entry.get("price")
                shown.append(
                    entry["name"] if price is None else f"{entry['name']} ({_display(price)})"
                )
            else:
                shown.append(_display(entry))
        if len(value) > VALUE_LIST_CAP:
            shown.append(f"… and {len(value) - VALUE_LIST_CAP} more")
        return shown
    if isinstance(value, dict):
        return {key: _display(entry) for key, entry in value.items()}
    return value


def _references(old: Any, new: Any) -> dict[str, Any]:
    """A change of a list of references (``item_ids`` ...): counts, not 24-hex ids."""
    old_ids, new_ids = list(old or []), list(new or [])
    added = len(set(new_ids) - set(old_ids))
    removed = len(set(old_ids) - set(new_ids))
    note = f"{added} added, {removed} removed"
    if not added and not removed:
        note = "reordered"
    return {"old": f"{len(old_ids)} linked", "new": f"{len(new_ids)} linked ({note})"}


def _change(name: str, old: Any, new: Any) -> dict[str, Any]:
    if name.endswith("_ids") and isinstance(new, list):
        return _references(old, new)
    return {"old": _display(old), "new": _display(new)}


def _entry(entity: str, op: Mapping[str, Any]) -> dict[str, Any]:
    pos_id = None if entity == "menus" else op["key"]
    if op["op"] == "create":
        return {"pos_id": pos_id, "name": op["fields"].get("name")}
    if op["op"] == "delete":
        return {"pos_id": pos_id, "name": op.get("name")}
    old = op.get("old", {})
    return {
        "pos_id": pos_id,
        "name": op["fields"].get("name", op.get("name")),
        "changes": {
            name: _change(name, old.get(name), op["fields"][name])
            for name in op["fields"]
            if name not in _HIDDEN_FIELDS
        },
    }


def build_diff(plans: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """What the planned operations create, update (field: old -> new) and delete, per entity,
    by name and POS id; each list capped at ``REPORT_CAP`` entries, with its exact total."""
    diff: dict[str, Any] = {}
    for entity in DIFF_ENTITIES:
        lists: dict[str, dict[str, Any]] = {
            kind: {"total": 0, "entries": []} for kind in _KINDS.values()
        }
        for op in plans.get(entity, ()):
            section = lists[_KINDS[op["op"]]]
            section["total"] += 1
            if len(section["entries"]) < REPORT_CAP:
                section["entries"].append(_entry(entity, op))
        diff[entity] = lists
    return diff


def build_skipped(
    products: Sequence[Mapping[str, Any]],
    reasons: Mapping[str, int],
    not_in_selection: Sequence[tuple[str, str | None]],
    removed: set[str],
) -> dict[str, Any]:
    """Every register product that is not on the menu, with its reason (a SKIP_* code and its
    text); ``removed`` is true when this run deletes the item an earlier import made."""
    counts = dict(reasons)
    entries = [dict(entry) for entry in products]
    if not_in_selection:
        counts[SKIP_NOT_IN_SELECTION] = counts.get(SKIP_NOT_IN_SELECTION, 0) + len(not_in_selection)
        room = max(MAX_SKIPS - len(entries), 0)
        entries.extend(
            {"pos_id": pos_id, "name": name, "reason": SKIP_NOT_IN_SELECTION}
            for pos_id, name in not_in_selection[:room]
        )
    for entry in entries:
        entry["text"] = SKIP_REASONS.get(entry["reason"], entry["reason"])
        entry["removed"] = entry["pos_id"] in removed
    total = sum(counts.values())
    return {
        "total": total,
        "reasons": counts,
        "entries": entries,
        "truncated": total > len(entries),
    }


@dataclass(frozen=True)
class GuardVerdict:
    """The mass-change guard's view of an import's items plan."""

    held: bool
    existing: int  # the provider's items before the import
    deleted: int
    remaining: int  # items after the import
    max_share: float

    @property
    def share(self) -> float:
        return self.deleted / self.existing if self.existing else 0.0

    @property
    def reason(self) -> str:
        if self.remaining == 0:
            return f"it would delete all {self.existing} items and leave the menu without any item"
        return (
            f"it would delete {self.deleted} of {self.existing} items ({self.share:.0%}; "
            f"at most {self.max_share:.0%} may go in one import)"
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "existing": self.existing,
            "deleted": self.deleted,
            "remaining": self.remaining,
            "share": round(self.share, 4),
            "max_share": self.max_share,
            "reason": self.reason if self.held else None,
        }


def check_guard(*, created: int, deleted: int, remaining: int, max_share: float) -> GuardVerdict:
    """Hold an import that deletes more than ``max_share`` of the items or leaves none.

    A first import (no item yet) is never held.
    """
    existing = remaining - created + deleted
    held = existing > 0 and (remaining == 0 or deleted / existing > max_share)
    return GuardVerdict(held, existing, deleted, remaining, max_share)


class ImportHistoryRepository:
    """The ``menu_import_runs`` collection (the runs' history, newest first)."""

    def __init__(self, db: Database[dict[str, Any]] | None = None) -> None:
        self._db = db

    @property
    def collection(self) -> Collection[dict[str, Any]]:
        return (self._db if self._db is not None else get_db())[COLLECTION]

    def create(self, run_id: str, **fields: Any) -> None:
        self.collection.insert_one({"_id": run_id, **fields})

    def update(self, run_id: str, **fields: Any) -> None:
        self.collection.update_one({"_id": run_id}, {"$set": fields})

    def transition(self, run_id: str, from_statuses: Sequence[str], **fields: Any) -> bool:
        """``$set`` only while the run's status is one of ``from_statuses`` (one winner)."""
        result = self.collection.update_one(
            {"_id": run_id, "status": {"$in": list(from_statuses)}}, {"$set": fields}
        )
        return result.modified_count == 1

    def get(self, run_id: str, integration_id: str | None = None) -> dict[str, Any] | None:
        query: dict[str, Any] = {"_id": run_id}
        if integration_id is not None:
            query["integration_id"] = integration_id
        return self.collection.find_one(query)

    def page(
        self, integration_id: str, *, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """The integration's runs, newest first, without their long lists."""
        query = {"integration_id": integration_id}
        total = self.collection.count_documents(query)
        cursor = (
            self.collection.find(query, _SUMMARY_PROJECTION)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return total, list(cursor)

    def trim(self, integration_id: str, keep: int) -> list[str]:
        """Delete the integration's runs beyond the newest ``keep``; returns their ids."""
        cursor = (
            self.collection.find({"integration_id": integration_id}, {"_id": 1})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(max(keep, 1))
        )
        ids = [doc["_id"] for doc in cursor]
        if ids:
            self.collection.delete_many({"_id": {"$in": ids}})
        return ids
