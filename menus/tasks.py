"""The menu import's Celery chain, on the `menu-import` queue, and its resumption.

`ImportKassanetMenuJob` -> `ImportKassanetCategoriesJob` -> `ImportKassanetProductsJob` ->
`ImportKassanetDisplayGroupsJob`. Each task takes ids (and the run's generation), loads the
integration and runs its stage (menus/importer.py holds the logic). A transient failure is
retried (3 attempts in all, 30 s apart); anything else is recorded in the integration's sync
status by the importer and stops the chain.

`ResumeStalledMenuImportsJob` (beat, every MENU_IMPORT_RESUME_SECONDS, menus/schedules.py)
re-enqueues an import whose worker was lost (menus/resumption.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Task, chain, shared_task
from celery.exceptions import Ignore
from django.conf import settings

import kassanet
from integrations.repository import IntegrationRepository
from integrations.services import get_service
from menus.importer import (
    STAGE_CATEGORIES,
    STAGE_DISPLAY_GROUPS,
    STAGE_MENU,
    STAGE_PRODUCTS,
    STAGES,
    MenuImporter,
    RetryStage,
)
from menus.resumption import ImportResumer
from menus.stock import claim_refresh, due_integrations, refresh_stock
from upvendo.celery import QUEUE_DEFAULT, QUEUE_MENU_IMPORT
from upvendo.logging import redact

logger = logging.getLogger(__name__)

STAGE_OPTIONS: dict[str, Any] = {
    "bind": True,
    "max_retries": 2,  # 3 attempts in all
    "time_limit": settings.MENU_IMPORT_TIME_LIMIT,
    "soft_time_limit": settings.MENU_IMPORT_SOFT_TIME_LIMIT,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def run_stage(task: Task, stage: str, integration_id: str, run_id: str, resumes: int) -> None:
    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None:
        raise Ignore()  # disconnected meanwhile: nothing left to import into
    final_attempt = task.request.retries >= (task.max_retries or 0)
    importer = MenuImporter(get_service(integration.provider))
    try:
        proceed = importer.run_stage(
            stage, integration, run_id, final_attempt=final_attempt, resumes=resumes
        )
    except RetryStage as error:
        raise task.retry(exc=error, countdown=settings.MENU_IMPORT_RETRY_DELAY) from error
    if not proceed:
        raise Ignore()  # stops the chain: the run failed, ended or was resumed elsewhere


# `resumes` (the run's generation) defaults to 0 for messages sent before it existed.
@shared_task(name="ImportKassanetMenuJob", **STAGE_OPTIONS)
def import_kassanet_menu_job(
    self: Task, integration_id: str, run_id: str, resumes: int = 0
) -> None:
    run_stage(self, STAGE_MENU, integration_id, run_id, resumes)


@shared_task(name="ImportKassanetCategoriesJob", **STAGE_OPTIONS)
def import_kassanet_categories_job(
    self: Task, integration_id: str, run_id: str, resumes: int = 0
) -> None:
    run_stage(self, STAGE_CATEGORIES, integration_id, run_id, resumes)


@shared_task(name="ImportKassanetProductsJob", **STAGE_OPTIONS)
def import_kassanet_products_job(
    self: Task, integration_id: str, run_id: str, resumes: int = 0
) -> None:
    run_stage(self, STAGE_PRODUCTS, integration_id, run_id, resumes)


@shared_task(name="ImportKassanetDisplayGroupsJob", **STAGE_OPTIONS)
def import_kassanet_display_groups_job(
    self: Task, integration_id: str, run_id: str, resumes: int = 0
) -> None:
    run_stage(self, STAGE_DISPLAY_GROUPS, integration_id, run_id, resumes)


_STAGE_TASKS = dict(
    zip(
        STAGES,
        (
            import_kassanet_menu_job,
            import_kassanet_categories_job,
            import_kassanet_products_job,
            import_kassanet_display_groups_job,
        ),
        strict=True,
    )
)


def enqueue_menu_import(
    integration_id: str, run_id: str, *, from_stage: str = STAGE_MENU, resumes: int = 0
) -> None:
    """Send the chain from ``from_stage``; call it only after the claim (or the resumption)
    of ``run_id`` is written. A new run's messages are ``(integration_id, run_id)``, as
    before generations existed (workers of the previous release still take them)."""
    args = (integration_id, run_id, resumes) if resumes else (integration_id, run_id)
    stages = STAGES[STAGES.index(from_stage) :]
    chain(
        _STAGE_TASKS[stage].si(*args).set(queue=QUEUE_MENU_IMPORT) for stage in stages
    ).apply_async()


@shared_task(name="ResumeStalledMenuImportsJob")
def resume_stalled_menu_imports_job() -> int:
    return ImportResumer(enqueue_menu_import).run()


@shared_task(name="RefreshDueKassanetStockJob", time_limit=55, soft_time_limit=50)
def refresh_due_kassanet_stock_job() -> int:
    """Every minute (menus/schedules.py): enqueue the stock refresh of each connected
    integration whose `stock_refresh_minutes` have passed; each is claimed conditionally, so
    two beats never refresh one integration twice."""
    now = datetime.now(UTC)
    started = 0
    for integration_id, last in due_integrations(now):
        if claim_refresh(integration_id, last, now):
            refresh_kassanet_stock_job.apply_async((integration_id,), queue=QUEUE_DEFAULT)
            started += 1
    return started


@shared_task(name="RefreshKassanetStockJob", time_limit=120, soft_time_limit=110)
def refresh_kassanet_stock_job(integration_id: str) -> dict[str, int] | None:
    """Read the register's stock and update inventory and availability (menus/stock.py)."""
    integrations = IntegrationRepository()
    integration = integrations.get_by_id(integration_id)
    if integration is None:
        return None
    try:
        return refresh_stock(get_service(integration.provider), integration).as_dict()
    except kassanet.KassanetError as error:
        message = redact(f"Stock refresh failed: {error.message}")
        integrations.append_log(integration_id, "warning", "stock_refresh", message)
        logger.warning("Integration %s: %s", integration_id, message)
        return None
