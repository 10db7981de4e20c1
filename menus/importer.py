"""The menu import: a register's catalog into the platform's menu, all or nothing.

Four stages, each a Celery task of one chain (``menus.tasks``):

1. ``menu`` reads the register ONCE (GetAllProducts, GetProductSelection, TableNumbers) and
   stores the answers in the run's staging area (``import_runs``);
2. ``categories`` plans the categories' changes;
3. ``products`` plans the modifier groups' and items' changes;
4. ``display_groups`` plans the display groups, the menu and the inventory, then applies
   every planned change and the table section in ONE MongoDB transaction, and emits
   ReloadMenu.

Nothing the platform shows changes before that transaction commits, so a failure at any
stage (register down, wrong token, time limit, crash) leaves the previous menu exactly as it
was. See docs/menu-import.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billiard.exceptions import SoftTimeLimitExceeded
from bson import ObjectId
from django.conf import settings
from pymongo.client_session import ClientSession
from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure, PyMongoError

import kassanet
from integrations.events import emit_reload_menu
from integrations.repository import SYNC_ERROR, SYNC_SUCCESS, Integration
from menus.diff import (
    EntityPlan,
    PlanContext,
    plan_categories,
    plan_display_groups,
    plan_inventory,
    plan_items,
    plan_menu,
    plan_modifier_groups,
)
from menus.mapping import (
    Issues,
    compile_pager_patterns,
    map_categories,
    map_display_groups,
    map_products,
    parse_products,
    raw_product_ids,
    select_menu_products,
)
from menus.repository import (
    CategoryRepository,
    DisplayGroupRepository,
    ImportedRecordRepository,
    ImportRunRepository,
    InventoryRepository,
    ItemRepository,
    MenuImportStatusRepository,
    MenuRepository,
    ModifierGroupRepository,
)
from menus.runs import (
    HELD_STATUSES,
    STATUS_DISCARDED,
    STATUS_ERROR,
    STATUS_IN_PROGRESS,
    STATUS_NEEDS_REVIEW,
    STATUS_PREVIEW,
    STATUS_SUCCESS,
    TRIGGER_COMMAND,
    TRIGGER_MANUAL,
    ImportHistoryRepository,
    build_diff,
    build_skipped,
    check_guard,
    register_hash,
)
from menus.versions import VERSION_ENTITIES, MenuVersionRepository, keep_versions
from tables.services import sync_table_section
from upvendo.logging import redact
from upvendo.mongo import get_client

if TYPE_CHECKING:
    from integrations.services import AbstractKassanetService

__all__ = [
    "CHANGED_REGISTER",
    "ENTITIES",
    "STAGES",
    "ImportInProgressError",
    "MenuImporter",
    "RetryStage",
    "RunConflictError",
    "RunNotFoundError",
]

logger = logging.getLogger(__name__)

STAGE_MENU = "menu"
STAGE_CATEGORIES = "categories"
STAGE_PRODUCTS = "products"
STAGE_DISPLAY_GROUPS = "display_groups"
STAGES = (STAGE_MENU, STAGE_CATEGORIES, STAGE_PRODUCTS, STAGE_DISPLAY_GROUPS)
ENTITIES = ("categories", "modifier_groups", "items", "display_groups", "menus", "inventory")
LOG_EVENT = "menu_import"

# Staging kinds (import_runs chunks).
RAW_PRODUCTS = "raw:products"
SELECTIONS = "raw:selections"
TABLES = "raw:tables"
ITEMS = "items"  # [register id, _id, stock] of every imported item
PRODUCT_IDS = "product_ids"  # every parsed product id (to tell unknown ids in selections)


def plan_kind(entity: str) -> str:
    return f"plan:{entity}"


class ImportInProgressError(Exception):
    """Another import of this integration is running."""


class ImportNotStartedError(Exception):
    """The import was claimed but could not be handed to the workers (broker down)."""


class RunNotFoundError(LookupError):
    """No such import run for this integration."""


class RunConflictError(Exception):
    """A run cannot be applied or discarded as asked (its status, a changed register ...)."""


CHANGED_REGISTER = "The register's menu changed since this preview; preview again"


class RetryStage(Exception):
    """A stage failed for a transient reason; the task runs it again after a backoff."""


def is_transient(error: BaseException) -> bool:
    """Worth another attempt: a register or database that is briefly unavailable."""
    if isinstance(error, kassanet.KassanetError):
        return error.retryable
    if isinstance(error, ConnectionFailure):
        return True
    return isinstance(error, PyMongoError) and error.has_error_label("TransientTransactionError")


MAX_REASON = 300  # characters of a failure's reason in the message users see


def _database_reason(error: OperationFailure) -> str:
    """The server's own words: the first write error's errmsg, else the top-level errmsg.

    ``str()`` of a BulkWriteError holds the whole server reply (every upserted id ...).
    """
    details = error.details or {}
    for key in ("writeErrors", "writeConcernErrors"):
        errors = details.get(key) or []
        if errors and errors[0].get("errmsg"):
            return f"the database refused a write: {errors[0]['errmsg']}"
    errmsg = details.get("errmsg")
    return f"database error: {errmsg}" if errmsg else f"database error {type(error).__name__}"


def describe(error: BaseException) -> str:
    """A short reason for the sync status message (at most MAX_REASON characters)."""
    if isinstance(error, SoftTimeLimitExceeded):
        reason = "the stage took longer than its time limit"
    elif isinstance(error, kassanet.KassanetError):
        reason = error.message
    elif isinstance(error, OperationFailure):
        reason = _database_reason(error)
    else:
        reason = f"{type(error).__name__}: {error}"
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


def error_details(error: BaseException) -> dict[str, Any]:
    """What the sync status' ``details.error`` says about a failure: its type and code."""
    details: dict[str, Any] = {"type": type(error).__name__}
    if isinstance(error, BulkWriteError):
        write_errors = error.details.get("writeErrors") or []
        details["write_errors"] = len(write_errors)
        details["code"] = write_errors[0].get("code") if write_errors else error.code
    elif isinstance(error, PyMongoError | kassanet.KassanetError):
        details["code"] = getattr(error, "code", None)
    if isinstance(error, kassanet.KassanetError):
        details["status_code"] = error.status_code
    return details


def empty_report() -> dict[str, dict[str, int]]:
    return {
        entity: {"created": 0, "updated": 0, "deleted": 0, "skipped": 0, "warnings": 0}
        for entity in ENTITIES
    }


class MenuImporter:
    """Runs the stages of one provider's menu import (``service`` names the provider)."""

    def __init__(
        self,
        service: AbstractKassanetService,
        *,
        runs: ImportRunRepository | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.service = service
        self.provider = service.provider
        self.integrations = service.integrations
        self.status = MenuImportStatusRepository(locations=service.locations)
        self.runs = runs or ImportRunRepository()
        self.history = ImportHistoryRepository()
        self.versions = MenuVersionRepository()
        self.clock = clock
        self.categories = CategoryRepository()
        self.modifier_groups = ModifierGroupRepository()
        self.items = ItemRepository()
        self.display_groups = DisplayGroupRepository()
        self.menus = MenuRepository()
        self.inventory = InventoryRepository()
        self._repositories: dict[str, ImportedRecordRepository] = {
            "categories": self.categories,
            "modifier_groups": self.modifier_groups,
            "items": self.items,
            "display_groups": self.display_groups,
            "menus": self.menus,
            "inventory": self.inventory,
        }

    # -- starting ---------------------------------------------------------------------------

    def _in_progress_error(self) -> ImportInProgressError:
        return ImportInProgressError(
            f"A {self.service.display_name} menu import is already in progress for this "
            "location; wait for it to finish."
        )

    def claim(
        self,
        integration: Integration,
        *,
        trigger: str = TRIGGER_MANUAL,
        preview: bool = False,
        confirm_deletions: bool = False,
    ) -> str:
        """Mark an import in progress for a new run id; ImportInProgressError if one runs.

        The run enters the history (``menu_import_runs``) as ``in_progress``; the oldest runs
        beyond ``MENU_IMPORT_HISTORY`` leave it (with their staging data).
        """
        run_id = uuid.uuid4().hex
        if not self.integrations.claim_sync(integration.id, run_id):
            raise self._in_progress_error()
        self.integrations.update_sync_status(integration.id, run_id, resumes=0)  # generation 0
        now = datetime.now(UTC)
        self.history.create(
            run_id,
            integration_id=integration.id,
            location_id=integration.location_id,
            provider=self.provider,
            trigger=trigger,
            preview=preview,
            confirm_deletions=confirm_deletions,
            status=STATUS_IN_PROGRESS,
            stage=None,
            message="Preview started." if preview else "Import started.",
            created_at=now,
            started_at=now,
            updated_at=now,
            finished_at=None,
            durations={},
        )
        self.trim_history(integration)
        self.integrations.append_log(
            integration.id,
            "info",
            LOG_EVENT,
            "Menu preview started." if preview else "Menu import started.",
            run_id=run_id,
            trigger=trigger,
        )
        return run_id

    def trim_history(self, integration: Integration) -> None:
        """Keep the newest MENU_IMPORT_HISTORY runs; older ones go with their staging."""
        for old in self.history.trim(integration.id, settings.MENU_IMPORT_HISTORY):
            self.runs.delete(old)

    def release(self, integration: Integration, run_id: str, error: Exception) -> str:
        """Give up a claimed run that never started, so the next request may start one."""
        message = (
            "The menu import could not be started: the task queue is unavailable "
            f"({type(error).__name__}); try again shortly."
        )
        self.integrations.finish_sync(
            integration.id, run_id, SYNC_ERROR, message, {"error": type(error).__name__}
        )
        self._end_run(run_id, STATUS_ERROR, message)
        self.integrations.append_log(integration.id, "error", LOG_EVENT, message, run_id=run_id)
        return message

    def _end_run(self, run_id: str, status: str, message: str, **fields: Any) -> None:
        now = datetime.now(UTC)
        self.history.update(
            run_id,
            status=status,
            message=message,
            stage=None,
            finished_at=now,
            updated_at=now,
            **fields,
        )

    def run_inline(
        self,
        integration: Integration,
        on_stage: Callable[[str, dict[str, Any]], None] | None = None,
        *,
        preview: bool = False,
        confirm_deletions: bool = False,
        trigger: str = TRIGGER_COMMAND,
    ) -> dict[str, Any]:
        """Claim and run every stage in this process (the ``import_kassanet`` command).

        ``on_stage(stage, sync_status)`` is called after each stage that completed.
        """
        run_id = self.claim(
            integration, trigger=trigger, preview=preview, confirm_deletions=confirm_deletions
        )
        for stage in STAGES:
            current = self.integrations.get_by_id(integration.id)
            if current is None or not self.run_stage(stage, current, run_id, final_attempt=True):
                break
            if on_stage is not None:
                after = self.integrations.get_by_id(integration.id)
                on_stage(stage, dict(after.sync_status) if after else {})
        current = self.integrations.get_by_id(integration.id)
        return dict(current.sync_status) if current else {}

    # -- one stage --------------------------------------------------------------------------

    def run_stage(
        self,
        stage: str,
        integration: Integration,
        run_id: str,
        *,
        final_attempt: bool,
        resumes: int = 0,
    ) -> bool:
        """Run ``stage`` of ``run_id`` (generation ``resumes``); True when the next stage
        should follow.

        A stage of a run that no longer owns the sync status (finished, failed, superseded)
        or of a chain that a resumption replaced does nothing. A transient failure raises
        :class:`RetryStage` unless this is the final attempt; any other failure is recorded
        (``sync_status`` error, the previous menu untouched). Unexpected exceptions are
        re-raised after being recorded.
        """
        if not self.status.start_stage(
            integration.id,
            run_id,
            resumes,
            stage=stage,
            message=f"Importing: {stage.replace('_', ' ')}.",
        ):
            logger.info(
                "Menu import %s (generation %d) is no longer in progress; %s stage skipped",
                run_id,
                resumes,
                stage,
            )
            return False
        self.history.update(run_id, stage=stage, updated_at=datetime.now(UTC))
        started = time.monotonic()
        try:
            summary = getattr(self, f"_stage_{stage}")(integration, run_id)
        except Exception as error:
            if is_transient(error) and not final_attempt:
                self.integrations.append_log(
                    integration.id,
                    "warning",
                    LOG_EVENT,
                    redact(f"The {stage} stage failed ({describe(error)}); it will be retried."),
                    run_id=run_id,
                )
                raise RetryStage(describe(error)) from error
            self.fail(integration, run_id, stage, describe(error), error=error)
            expected = isinstance(
                error, kassanet.KassanetError | PyMongoError | SoftTimeLimitExceeded
            )
            if not expected:
                raise
            return False
        elapsed = time.monotonic() - started
        self.history.update(run_id, **{f"durations.{stage}": round(elapsed, 3)})
        logger.info("Menu import %s: %s stage done in %.2fs", run_id, stage, elapsed)
        return summary is not None

    def fail(
        self,
        integration: Integration,
        run_id: str,
        stage: str,
        reason: str,
        *,
        error: BaseException | None = None,
    ) -> None:
        message = redact(
            f"Menu import failed at the {stage.replace('_', ' ')} stage: {reason}. "
            "The previous menu is unchanged."
        )
        details: dict[str, Any] = {
            "run_id": run_id,
            "stage": stage,
            "unreachable": isinstance(error, kassanet.TransportError),
        }
        if error is not None:
            details["error"] = error_details(error)
        # The sync status last: whoever waits for it finds the rest done.
        self.runs.delete(run_id)
        if self.versions.get(integration.id, run_id) is None:  # no commit: not a version
            self.versions.drop_chunks(run_id)
        self._end_run(run_id, STATUS_ERROR, message, failed_stage=stage, error=details.get("error"))
        self.integrations.finish_sync(integration.id, run_id, SYNC_ERROR, message, details)
        self.integrations.append_log(
            integration.id, "error", LOG_EVENT, message, run_id=run_id, stage=stage
        )
        logger.warning("%s integration %s: %s", self.service.display_name, integration.id, message)

    # -- helpers ----------------------------------------------------------------------------

    def _context(self, integration: Integration) -> PlanContext:
        return PlanContext(integration.location_id, self.provider)

    def _state(self, run_id: str) -> dict[str, Any]:
        state = self.runs.state(run_id)
        if state is None:
            raise RuntimeError(f"the staging data of run {run_id} is gone (expired?)")
        return state

    def _record_plan(
        self, run_id: str, state: dict[str, Any], plan: EntityPlan, issues: Issues
    ) -> None:
        self.runs.save(run_id, plan_kind(plan.entity), plan.ops)
        state["report"][plan.entity] = plan.counts()
        state["issues"] = issues.to_document()

    def _progress(
        self, integration: Integration, run_id: str, state: dict[str, Any], *entities: str
    ) -> None:
        self.runs.update_state(run_id, report=state["report"], issues=state["issues"])
        report = self._report(state)
        self.integrations.update_sync_status(integration.id, run_id, details={"progress": report})
        planned = "; ".join(
            f"{entity.replace('_', ' ')}: {report[entity]['created']} to create, "
            f"{report[entity]['updated']} to update, {report[entity]['deleted']} to delete"
            for entity in entities
        )
        self.integrations.append_log(
            integration.id, "info", LOG_EVENT, f"Planned {planned}.", run_id=run_id
        )

    def _report(self, state: dict[str, Any]) -> dict[str, dict[str, int]]:
        report = empty_report()
        issues = Issues.from_document(state["issues"])
        for entity, counts in state["report"].items():
            report[entity].update(counts)
        for entity, count in issues.skipped.items():
            report[entity]["skipped"] = count
        for entity, count in issues.warnings.items():
            report[entity]["warnings"] = count
        return report

    def _menu_products(self, raw: list[Any], issues: Issues) -> list[kassanet.Product]:
        products = parse_products(raw, issues)
        patterns = compile_pager_patterns(settings.PAGER_NAME_PATTERNS)
        return select_menu_products(products, patterns, issues)

    # -- the stages -------------------------------------------------------------------------

    def _stage_menu(self, integration: Integration, run_id: str) -> dict[str, int]:
        with self.service.client(integration) as client:
            products = client.get_all_products_raw()
            selections = client.get_product_selection()
            tables = client.table_numbers()
        digest = register_hash(products, selections, tables)
        base_revision = self.status.menu_revision(integration.id)
        self.runs.start(
            run_id,
            integration_id=integration.id,
            location_id=integration.location_id,
            provider=self.provider,
            report={},
            issues=Issues().to_document(),
            content_hash=digest,
            base_revision=base_revision,
        )
        self.runs.save_json(run_id, RAW_PRODUCTS, products)
        self.runs.save(run_id, SELECTIONS, [asdict(s) for s in selections])
        self.runs.save(run_id, TABLES, [[t.number, t.name] for t in tables])
        summary = {"products": len(products), "selections": len(selections), "tables": len(tables)}
        self.history.update(run_id, read=summary, content_hash=digest, base_revision=base_revision)
        self.integrations.update_sync_status(integration.id, run_id, details={"read": summary})
        self.integrations.append_log(
            integration.id,
            "info",
            LOG_EVENT,
            f"Read {len(products)} products, {len(selections)} selections and "
            f"{len(tables)} tables from the register.",
            run_id=run_id,
        )
        return summary

    def _stage_categories(self, integration: Integration, run_id: str) -> dict[str, int]:
        state = self._state(run_id)
        issues = Issues()
        raw = self.runs.load_json(run_id, RAW_PRODUCTS)
        products = self._menu_products(raw, Issues())  # skips are counted with the items
        categories = map_categories(products, issues)
        plan = plan_categories(
            self._context(integration),
            categories,
            self.categories.for_import(integration.location_id, self.provider),
        )
        self._record_plan(run_id, state, plan, issues)
        self.runs.update_state(run_id, category_ids=list(plan.ids.items()))
        self._progress(integration, run_id, state, "categories")
        return plan.counts()

    def _stage_products(self, integration: Integration, run_id: str) -> dict[str, int]:
        state = self._state(run_id)
        issues = Issues.from_document(state["issues"])
        raw = self.runs.load_json(run_id, RAW_PRODUCTS)
        mapping = map_products(self._menu_products(raw, issues), issues)
        context = self._context(integration)
        groups = plan_modifier_groups(
            context,
            mapping.modifier_groups,
            self.modifier_groups.for_import(integration.location_id, self.provider),
        )
        items = plan_items(
            context,
            mapping.items,
            self.items.for_import(integration.location_id, self.provider),
            dict(state["category_ids"]),
            groups.ids,
        )
        self._record_plan(run_id, state, groups, issues)
        self._record_plan(run_id, state, items, issues)
        self.runs.save(
            run_id,
            ITEMS,
            [[key, items.ids[key], item.stock, item.name] for key, item in mapping.items.items()],
        )
        self.runs.save(run_id, PRODUCT_IDS, raw_product_ids(raw))
        self._progress(integration, run_id, state, "modifier_groups", "items")
        return items.counts()

    def give_up(self, integration: Integration, run_id: str, stage: str, stalls: int) -> None:
        """End a run that stopped making progress ``stalls`` times (ResumeStalledMenuImportsJob).

        A run whose transaction already committed only missed its bookkeeping: it succeeds.
        """
        state = self.runs.state(run_id)
        if state is not None and state.get("applied"):
            self._finish(integration, run_id, state["details"])
            return
        self.fail(
            integration,
            run_id,
            stage,
            f"it stopped without finishing {stalls} times (its worker was lost), so it was "
            "given up",
        )

    def _stage_display_groups(self, integration: Integration, run_id: str) -> dict[str, Any] | None:
        """Plan the rest, then apply everything in one transaction, unless the run is a
        preview or the mass-change guard holds it (then nothing is written: None)."""
        state = self._state(run_id)
        if not state.get("applied"):  # else: committed by an earlier attempt of this stage
            plans = None
            if not state.get("planned"):  # else: a held run being applied, planned before
                plans = self._plan(integration, run_id, state)
            held = None if state.get("approved") else self._held_status(run_id, state)
            if held is not None:
                self._hold(integration, run_id, state, held)
                return None
            tables = [(number, name) for number, name in self.runs.load(run_id, TABLES)]
            state["details"] = self._apply(integration, run_id, tables, state["details"], plans)
        details: dict[str, Any] = state["details"]
        self._finish(integration, run_id, details)
        if state.get("approved"):
            self._refresh_stock(integration)
        return details

    def _refresh_stock(self, integration: Integration) -> None:
        """A reviewed run's stock is as old as its preview: bring it up to date."""
        from menus.stock import refresh_stock

        try:
            refresh_stock(self.service, integration)
        except kassanet.KassanetError as error:
            self.integrations.append_log(
                integration.id,
                "warning",
                LOG_EVENT,
                redact(f"Stock refresh after the reviewed import failed: {error.message}"),
            )

    def _finish(self, integration: Integration, run_id: str, details: dict[str, Any]) -> None:
        """The bookkeeping after the commit (repeatable): the integration's tables, ReloadMenu,
        the menu revision, the sync status, the run's history entry, the staging area."""
        self.integrations.update_settings(
            integration.id,
            tables=[number for number, _ in self.runs.load(run_id, TABLES)],
            table_section_id=details["tables"]["section_id"],
        )
        items = details["report"]["items"]
        message = (
            f"Menu imported: {items['created']} items created, {items['updated']} updated, "
            f"{items['deleted']} deleted, {items['skipped']} skipped; "
            f"{details['display_groups_imported']} display groups."
        )
        self.status.set_menu_revision(integration.id, run_id)
        self.versions.trim(integration.id, keep_versions())
        emit_reload_menu(integration.location_id, self.provider, reason="menu imported")
        self._end_run(
            run_id, STATUS_SUCCESS, message, applied_at=datetime.now(UTC), tables=details["tables"]
        )
        self.integrations.finish_sync(integration.id, run_id, SYNC_SUCCESS, message, details)
        self.integrations.append_log(integration.id, "info", LOG_EVENT, message, run_id=run_id)
        self.runs.delete(run_id)

    def _max_delete_share(self, integration: Integration) -> float:
        override = integration.settings.get("max_delete_share")
        return float(settings.MENU_IMPORT_MAX_DELETE_SHARE if override is None else override)

    def _plan(
        self, integration: Integration, run_id: str, state: dict[str, Any]
    ) -> dict[str, list[dict[str, Any]]]:
        """Plan display groups, menu and inventory; write the run's report (diff, skip
        reasons, guard); returns every entity's planned operations."""
        issues = Issues.from_document(state["issues"])
        context = self._context(integration)
        location_id = integration.location_id
        items = self.runs.load(run_id, ITEMS)  # [register id, _id, stock, name]
        item_ids: dict[str, ObjectId] = {entry[0]: entry[1] for entry in items}
        selections = [
            kassanet.Selection(s["id"], s["name"], s["sort"], tuple(s["product_ids"]))
            for s in self.runs.load(run_id, SELECTIONS)
        ]
        groups = map_display_groups(
            selections, set(item_ids), set(self.runs.load(run_id, PRODUCT_IDS)), issues
        )
        display_groups = plan_display_groups(
            context, groups, self.display_groups.for_import(location_id, self.provider), item_ids
        )
        menu = plan_menu(
            context,
            f"{self.service.display_name} menu",
            self.menus.for_import(location_id, self.provider),
            [display_groups.ids[group.external_id] for group in groups],
        )
        inventory = plan_inventory(
            context,
            {entry[0]: entry[2] for entry in items},
            self.inventory.for_import(location_id, self.provider),
            item_ids,
            self.clock(),
        )
        for plan in (display_groups, menu, inventory):
            self._record_plan(run_id, state, plan, issues)
        plans = {
            entity: self.runs.load(run_id, plan_kind(entity))
            for entity in ("categories", "modifier_groups", "items")
        }
        plans.update({p.entity: p.ops for p in (display_groups, menu, inventory)})
        report = self._report(state)
        on_display = {key for group in groups for key in group.item_external_ids}
        skipped = build_skipped(
            issues.products,
            issues.reasons,
            [
                (entry[0], entry[3] if len(entry) > 3 else None)
                for entry in items
                if entry[0] not in on_display
            ],
            {op["key"] for op in plans["items"] if op["op"] == "delete"},
        )
        guard = check_guard(
            created=report["items"]["created"],
            deleted=report["items"]["deleted"],
            remaining=len(items),
            max_share=self._max_delete_share(integration),
        ).to_document()
        details = {
            "run_id": run_id,
            "menu_id": str(menu.ids["menu"]),
            "display_groups_imported": len(groups),
            "report": report,
            "warnings": issues.messages,
            "guard": guard,
        }
        state.update(planned=True, details=details, guard=guard)
        self.runs.update_state(
            run_id,
            planned=True,
            details=details,
            guard=guard,
            report=state["report"],
            issues=state["issues"],
        )
        self.history.update(
            run_id,
            report=report,
            diff=build_diff(plans),
            skipped=skipped,
            guard=guard,
            warnings=issues.messages,
            display_groups_imported=len(groups),
        )
        return plans

    def _held_status(self, run_id: str, state: dict[str, Any]) -> str | None:
        """``preview`` for a preview, ``needs_review`` when the guard holds the run, else
        None (apply it). A manual run with ``confirm_deletions`` passes the guard."""
        run = self.history.get(run_id) or {}
        if run.get("preview"):
            return STATUS_PREVIEW
        if state["guard"]["held"] and not run.get("confirm_deletions"):
            return STATUS_NEEDS_REVIEW
        return None

    def _hold(
        self, integration: Integration, run_id: str, state: dict[str, Any], status: str
    ) -> None:
        """End a run without writing to the menu; its plans stay for an apply."""
        details = state["details"]
        items = details["report"]["items"]
        guard = details["guard"]
        if status == STATUS_PREVIEW:
            message = (
                f"Menu preview ready: {items['created']} items to create, {items['updated']} "
                f"to update, {items['deleted']} to delete, {items['skipped']} skipped. Nothing "
                "was written; apply or discard it."
            )
            level = "info"
        else:
            message = (
                f"Menu import held for review: {guard['reason']}. Nothing was written to the "
                "menu; apply or discard it."
            )
            level = "warning"
        self.runs.keep(run_id)
        self._end_run(run_id, status, message, guard=guard)
        self.integrations.finish_sync(integration.id, run_id, status, message, details)
        self.integrations.append_log(integration.id, level, LOG_EVENT, message, run_id=run_id)

    def _apply(
        self,
        integration: Integration,
        run_id: str,
        tables: list[tuple[int, str]],
        details: dict[str, Any],
        plans: dict[str, list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """Write every planned change and the table section in one transaction.

        The run is marked applied (with its ``details``) in the same transaction, so a retry
        of the last stage after the commit does not apply anything twice.
        """
        location_id = integration.location_id
        if plans is None:
            plans = {entity: self.runs.load(run_id, plan_kind(entity)) for entity in ENTITIES}
        # The menu this import replaces becomes a version (not for stock-only changes, and
        # not when there was no menu yet); its document is written in the transaction.
        version: dict[str, int] | None = None
        if any(plans[entity] for entity in VERSION_ENTITIES):
            counts = self.versions.snapshot(run_id, location_id, self.provider)
            version = counts if any(counts.values()) else None

        def write(session: ClientSession) -> dict[str, Any]:
            committed = self.runs.state(run_id, session)
            if committed is not None and committed.get("applied"):
                # A duplicate of this stage committed first (this callback is retried after
                # its write conflict): apply nothing, report what it applied.
                done: dict[str, Any] = committed["details"]
                return done
            for entity in ENTITIES:
                self._repositories[entity].apply(plans[entity], location_id, self.provider, session)
            result = sync_table_section(
                location_id,
                self.provider,
                self.service.table_section_prefix,
                tables,
                session=session,
            )
            applied = {**details, "tables": result, "version_kept": version is not None}
            if version is not None:
                self.versions.commit(run_id, integration, version, session)
            self.runs.update_state(run_id, session, applied=True, details=applied)
            return applied

        with get_client().start_session() as session:
            applied: dict[str, Any] = session.with_transaction(write)
        return applied

    # -- held runs: apply or discard (admin actions) ----------------------------------------

    def _held_run(self, integration: Integration, run_id: str, action: str) -> dict[str, Any]:
        run = self.history.get(run_id, integration.id)
        if run is None:
            raise RunNotFoundError(f"This integration has no import run {run_id!r}.")
        if run["status"] not in HELD_STATUSES:
            raise RunConflictError(
                f"Only a preview or a run held for review can be {action}; this run is "
                f"{run['status']}."
            )
        return run

    def apply_held(self, integration: Integration, run_id: str) -> str:
        """Claim the sync for a ``preview`` / ``needs_review`` run so its stored plans can be
        applied (the caller enqueues the display groups stage); returns its previous status.

        Refused (:class:`RunConflictError`) when the run's plans are gone, when another run
        was applied since it was planned, or when the register's answers changed since it
        read them (their content hash differs). Reads the register (kassanet errors pass).
        An admin action (roles: admin).
        """
        run = self._held_run(integration, run_id, "applied")
        state = self.runs.state(run_id)
        if state is None or not state.get("planned"):
            raise RunConflictError("This run's planned changes have expired; preview again.")
        self._check_revision(integration, run)
        with self.service.client(integration) as client:
            products = client.get_all_products_raw()
            selections = client.get_product_selection()
            tables = client.table_numbers()
        if register_hash(products, selections, tables) != run.get("content_hash"):
            raise RunConflictError(CHANGED_REGISTER)
        if not self.integrations.claim_sync(integration.id, run_id):
            raise self._in_progress_error()
        self.integrations.update_sync_status(
            integration.id, run_id, resumes=0, message="Applying the reviewed import."
        )
        try:
            self._check_revision(integration, run)  # applied by another run meanwhile?
            if not self.history.transition(
                run_id,
                HELD_STATUSES,
                status=STATUS_IN_PROGRESS,
                message="Applying the reviewed import.",
                stage=None,
                finished_at=None,
                updated_at=datetime.now(UTC),
                approved_at=datetime.now(UTC),
            ):
                raise RunConflictError("This run was discarded or applied meanwhile.")
        except RunConflictError as error:
            self.integrations.finish_sync(integration.id, run_id, run["status"], str(error))
            raise
        self.runs.update_state(run_id, approved=True)
        self.integrations.append_log(
            integration.id, "info", LOG_EVENT, "Applying the reviewed import.", run_id=run_id
        )
        status: str = run["status"]
        return status

    def unapply(self, integration: Integration, run_id: str, status: str, error: Exception) -> str:
        """Give a claimed apply back (the task queue is down): the run is held again."""
        message = (
            "The reviewed import could not be applied: the task queue is unavailable "
            f"({type(error).__name__}); try again shortly."
        )
        self.runs.update_state(run_id, approved=False)
        self.history.update(run_id, status=status, message=message, finished_at=datetime.now(UTC))
        self.integrations.finish_sync(integration.id, run_id, status, message)
        return message

    def _check_revision(self, integration: Integration, run: dict[str, Any]) -> None:
        if self.status.menu_revision(integration.id) != run.get("base_revision"):
            raise RunConflictError(
                "The menu changed since this preview (another import was applied); preview again"
            )

    def discard(self, integration: Integration, run_id: str) -> None:
        """Discard a ``preview`` / ``needs_review`` run: nothing is written, its plans go.

        An admin action (roles: admin)."""
        self._held_run(integration, run_id, "discarded")
        message = "Import discarded; the menu is unchanged."
        now = datetime.now(UTC)
        if not self.history.transition(
            run_id,
            HELD_STATUSES,
            status=STATUS_DISCARDED,
            message=message,
            finished_at=now,
            updated_at=now,
        ):
            raise RunConflictError("This run was applied or discarded meanwhile.")
        self.runs.delete(run_id)
        current = self.integrations.get_by_id(integration.id)
        if current is not None and current.sync_status.get("status") in HELD_STATUSES:
            self.integrations.finish_sync(integration.id, run_id, STATUS_DISCARDED, message)
        self.integrations.append_log(integration.id, "info", LOG_EVENT, message, run_id=run_id)
