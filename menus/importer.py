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
from tables.services import sync_table_section
from upvendo.logging import redact
from upvendo.mongo import get_client

if TYPE_CHECKING:
    from integrations.services import AbstractKassanetService

__all__ = [
    "ENTITIES",
    "STAGES",
    "ImportInProgressError",
    "MenuImporter",
    "RetryStage",
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

    def claim(self, integration: Integration) -> str:
        """Mark an import in progress for a new run id; ImportInProgressError if one runs."""
        run_id = uuid.uuid4().hex
        if not self.integrations.claim_sync(integration.id, run_id):
            raise ImportInProgressError(
                f"A {self.service.display_name} menu import is already in progress for this "
                "location; wait for it to finish."
            )
        self.integrations.update_sync_status(integration.id, run_id, resumes=0)  # generation 0
        self.integrations.append_log(
            integration.id, "info", LOG_EVENT, "Menu import started.", run_id=run_id
        )
        return run_id

    def release(self, integration: Integration, run_id: str, error: Exception) -> str:
        """Give up a claimed run that never started, so the next request may start one."""
        message = (
            "The menu import could not be started: the task queue is unavailable "
            f"({type(error).__name__}); try again shortly."
        )
        self.integrations.finish_sync(
            integration.id, run_id, SYNC_ERROR, message, {"error": type(error).__name__}
        )
        self.integrations.append_log(integration.id, "error", LOG_EVENT, message, run_id=run_id)
        return message

    def run_inline(
        self,
        integration: Integration,
        on_stage: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Claim and run every stage in this process (the ``import_kassanet`` command).

        ``on_stage(stage, sync_status)`` is called after each stage that completed.
        """
        run_id = self.claim(integration)
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
        logger.info(
            "Menu import %s: %s stage done in %.2fs", run_id, stage, time.monotonic() - started
        )
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
        self.integrations.finish_sync(integration.id, run_id, SYNC_ERROR, message, details)
        self.integrations.append_log(
            integration.id, "error", LOG_EVENT, message, run_id=run_id, stage=stage
        )
        self.runs.delete(run_id)
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
        self.runs.start(
            run_id,
            integration_id=integration.id,
            location_id=integration.location_id,
            provider=self.provider,
            report={},
            issues=Issues().to_document(),
        )
        self.runs.save_json(run_id, RAW_PRODUCTS, products)
        self.runs.save(run_id, SELECTIONS, [asdict(s) for s in selections])
        self.runs.save(run_id, TABLES, [[t.number, t.name] for t in tables])
        summary = {"products": len(products), "selections": len(selections), "tables": len(tables)}
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
            [[key, items.ids[key], item.stock] for key, item in mapping.items.items()],
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

    def _stage_display_groups(self, integration: Integration, run_id: str) -> dict[str, Any]:
        state = self._state(run_id)
        if not state.get("applied"):  # else: committed by an earlier attempt of this stage
            state["details"] = self._plan_and_apply(integration, run_id, state)
        details: dict[str, Any] = state["details"]
        self._finish(integration, run_id, details)
        return details

    def _finish(self, integration: Integration, run_id: str, details: dict[str, Any]) -> None:
        """The bookkeeping after the commit (repeatable): the integration's tables, ReloadMenu,
        the sync status, the staging area."""
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
        emit_reload_menu(integration.location_id, self.provider, reason="menu imported")
        self.integrations.finish_sync(integration.id, run_id, SYNC_SUCCESS, message, details)
        self.integrations.append_log(integration.id, "info", LOG_EVENT, message, run_id=run_id)
        self.runs.delete(run_id)

    def _plan_and_apply(
        self, integration: Integration, run_id: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        issues = Issues.from_document(state["issues"])
        context = self._context(integration)
        location_id = integration.location_id
        items = self.runs.load(run_id, ITEMS)
        item_ids: dict[str, ObjectId] = {key: oid for key, oid, _ in items}
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
            {key: stock for key, _, stock in items},
            self.inventory.for_import(location_id, self.provider),
            item_ids,
            self.clock(),
        )
        for plan in (display_groups, menu, inventory):
            self._record_plan(run_id, state, plan, issues)
        details = {
            "run_id": run_id,
            "menu_id": str(menu.ids["menu"]),
            "display_groups_imported": len(groups),
            "report": self._report(state),
            "warnings": issues.messages,
        }
        tables = [(number, name) for number, name in self.runs.load(run_id, TABLES)]
        return self._apply(integration, run_id, tables, details)

    def _apply(
        self,
        integration: Integration,
        run_id: str,
        tables: list[tuple[int, str]],
        details: dict[str, Any],
    ) -> dict[str, Any]:
        """Write every planned change and the table section in one transaction.

        The run is marked applied (with its ``details``) in the same transaction, so a retry
        of the last stage after the commit does not apply anything twice.
        """
        location_id = integration.location_id
        plans = {entity: self.runs.load(run_id, plan_kind(entity)) for entity in ENTITIES}

        def write(session: ClientSession) -> dict[str, Any]:
            committed = self.runs.state(run_id, session)
            if committed is not None and committed.get("applied"):
                # A duplicate of this stage committed first (this callback is retried after
                # its write conflict): apply nothing, report what it applied.
                done: dict[str, Any] = committed["details"]
                return done
            for entity, ops in plans.items():
                self._repositories[entity].apply(ops, location_id, self.provider, session)
            result = sync_table_section(
                location_id,
                self.provider,
                self.service.table_section_prefix,
                tables,
                session=session,
            )
            applied = {**details, "tables": result}
            self.runs.update_state(run_id, session, applied=True, details=applied)
            return applied

        with get_client().start_session() as session:
            applied: dict[str, Any] = session.with_transaction(write)
        return applied
