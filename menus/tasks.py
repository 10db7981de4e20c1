"""The menu import's Celery chain, on the `menu-import` queue.

`ImportKassanetMenuJob` -> `ImportKassanetCategoriesJob` -> `ImportKassanetProductsJob` ->
`ImportKassanetDisplayGroupsJob`. Each task takes ids, loads the integration and calls the
provider's service (menus/importer.py holds the logic). A transient failure is retried (3
attempts in all, 30 s apart); anything else is recorded in the integration's sync status by
the importer and stops the chain.
"""

from __future__ import annotations

from typing import Any

from celery import Task, chain, shared_task
from celery.exceptions import Ignore
from django.conf import settings

from integrations.repository import IntegrationRepository
from integrations.services import get_service
from menus.importer import (
    STAGE_CATEGORIES,
    STAGE_DISPLAY_GROUPS,
    STAGE_MENU,
    STAGE_PRODUCTS,
    RetryStage,
)
from upvendo.celery import QUEUE_MENU_IMPORT

STAGE_OPTIONS: dict[str, Any] = {
    "bind": True,
    "max_retries": 2,  # 3 attempts in all
    "time_limit": settings.MENU_IMPORT_TIME_LIMIT,
    "soft_time_limit": settings.MENU_IMPORT_SOFT_TIME_LIMIT,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def run_stage(task: Task, stage: str, integration_id: str, run_id: str) -> None:
    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None:
        raise Ignore()  # disconnected meanwhile: nothing left to import into
    final_attempt = task.request.retries >= (task.max_retries or 0)
    try:
        proceed = get_service(integration.provider).import_menu_stage(
            stage, integration, run_id, final_attempt=final_attempt
        )
    except RetryStage as error:
        raise task.retry(exc=error, countdown=settings.MENU_IMPORT_RETRY_DELAY) from error
    if not proceed:
        raise Ignore()  # stops the chain: the run failed or is no longer current


@shared_task(name="ImportKassanetMenuJob", **STAGE_OPTIONS)
def import_kassanet_menu_job(self: Task, integration_id: str, run_id: str) -> None:
    run_stage(self, STAGE_MENU, integration_id, run_id)


@shared_task(name="ImportKassanetCategoriesJob", **STAGE_OPTIONS)
def import_kassanet_categories_job(self: Task, integration_id: str, run_id: str) -> None:
    run_stage(self, STAGE_CATEGORIES, integration_id, run_id)


@shared_task(name="ImportKassanetProductsJob", **STAGE_OPTIONS)
def import_kassanet_products_job(self: Task, integration_id: str, run_id: str) -> None:
    run_stage(self, STAGE_PRODUCTS, integration_id, run_id)


@shared_task(name="ImportKassanetDisplayGroupsJob", **STAGE_OPTIONS)
def import_kassanet_display_groups_job(self: Task, integration_id: str, run_id: str) -> None:
    run_stage(self, STAGE_DISPLAY_GROUPS, integration_id, run_id)


def enqueue_menu_import(integration_id: str, run_id: str) -> None:
    """Send the chain; call it only after the claim of ``run_id`` is written."""
    stages = (
        import_kassanet_menu_job,
        import_kassanet_categories_job,
        import_kassanet_products_job,
        import_kassanet_display_groups_job,
    )
    chain(
        task.si(integration_id, run_id).set(queue=QUEUE_MENU_IMPORT) for task in stages
    ).apply_async()
