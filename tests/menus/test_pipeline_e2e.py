"""End to end: the REST API enqueues the Celery chain, a real worker subprocess (menu-import
queue) runs it against the simulator over HTTP, with real MongoDB and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bson import Decimal128
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser
from integrations.repository import Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from menus import tasks
from tests.e2e_support import Worker, celery_worker, wait_for
from tests.menus.support import (
    by_external_id,
    connect,
    dump_menu,
    edit_catalog,
    fixture_catalog,
    product,
)
from upvendo.mongo import ensure_indexes, get_client, get_db

pytestmark = pytest.mark.e2e

# One worker serves the whole module, so every test uses the same database name and Redis
# prefix (emptied after each test).
DB_NAME = f"test_e2e_{uuid.uuid4().hex[:10]}"
REDIS_PREFIX = f"test:e2e{uuid.uuid4().hex[:10]}:"


@pytest.fixture(autouse=True)
def mongo_db(settings: Any) -> Iterator[Database[dict[str, Any]]]:
    settings.MONGODB_DB = DB_NAME
    db = get_db()
    ensure_indexes(db)
    yield db
    get_client().drop_database(DB_NAME)


@pytest.fixture(autouse=True)
def redis_namespace(settings: Any) -> str:
    settings.REDIS_KEY_PREFIX = REDIS_PREFIX
    return REDIS_PREFIX


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    with celery_worker(db_name=DB_NAME, redis_prefix=REDIS_PREFIX, queues=["menu-import"]) as w:
        yield w


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with start_simulator(products=1, tables=0) as handle:
        yield handle


@pytest.fixture(autouse=True)
def fresh_catalog(sim: SimulatorHandle) -> None:
    sim.reset()
    sim.set_catalog(fixture_catalog())


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    return connect(location, sim)


@pytest.fixture
def api(alice: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    return client


def sync(api: APIClient, location: Location) -> dict[str, Any]:
    """POST sync-menu and wait for the import's outcome (its sync status)."""
    response = api.post(f"/api/backoffice/kassanet/hendrickx/{location.id}/sync-menu")
    assert response.status_code == 202, response.content
    run_id = response.json()["run_id"]
    return finished(location, run_id)


def finished(location: Location, run_id: str, timeout: float = 60) -> dict[str, Any]:
    def outcome() -> dict[str, Any] | None:
        integration = IntegrationRepository().get(location.id, "hendrickx")
        assert integration is not None
        status = integration.sync_status
        return status if status["run_id"] == run_id and status["status"] != "in_progress" else None

    return wait_for(outcome, timeout=timeout, what=f"import {run_id} to finish")


def changes(status: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {
        entity: (counts["created"], counts["updated"], counts["deleted"])
        for entity, counts in status["details"]["report"].items()
    }


def test_sync_menu_imports_then_an_unchanged_reimport_writes_nothing(
    worker: Worker,
    api: APIClient,
    location: Location,
    integration: Integration,
    mongo_db: Database[dict[str, Any]],
) -> None:
    first = sync(api, location)

    assert first["status"] == "success", first["message"]
    assert changes(first) == {
        "categories": (4, 0, 0),
        "modifier_groups": (2, 0, 0),
        "items": (4, 0, 0),
        "display_groups": (3, 0, 0),
        "menus": (1, 0, 0),
        "inventory": (4, 0, 0),
    }
    assert first["details"]["display_groups_imported"] == 3
    log = worker.log()
    for task in (
        "ImportKassanetMenuJob",
        "ImportKassanetCategoriesJob",
        "ImportKassanetProductsJob",
        "ImportKassanetDisplayGroupsJob",
    ):
        assert f"Task {task}[" in log and "succeeded" in log
    before = dump_menu(mongo_db, location.id)

    second = sync(api, location)

    assert second["status"] == "success"
    assert set(changes(second).values()) == {(0, 0, 0)}
    assert dump_menu(mongo_db, location.id) == before


def test_register_changes_are_reflected_by_the_pipeline(
    worker: Worker,
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    mongo_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1")["price"] = "15.00"
        catalog["products"] = [p for p in catalog["products"] if p["id"] != "P7"]
        product(catalog, "P3")["category"]["name"] = "Cold drinks"
        catalog["selections"][0]["sort"] = 5  # Drinks before Food

    edit_catalog(sim, change)

    status = sync(api, location)

    assert status["status"] == "success"
    assert changes(status)["items"] == (0, 1, 1)
    items = by_external_id(mongo_db, "items", location.id)
    assert sorted(items) == ["P1", "P2", "P3"]
    assert items["P1"]["price"] == Decimal128("15.00")
    categories = by_external_id(mongo_db, "categories", location.id)
    assert categories["C3"]["name"] == "Cold drinks"
    assert "C5" not in categories
    groups = by_external_id(mongo_db, "display_groups", location.id)
    menu = mongo_db["menus"].find_one({"location_id": location.id})
    assert menu is not None
    assert menu["display_group_ids"] == [str(groups[k]["_id"]) for k in ("S2", "S1", "S3")]


def _fail_fetch(sim: SimulatorHandle, db: Database[dict[str, Any]]) -> Callable[[], None]:
    sim.set_faults(endpoint_status={"endpoint": "GetAllProducts", "status": 401, "count": None})
    return sim.reset


def _validator(
    db: Database[dict[str, Any]], collection: str, rule: dict[str, Any]
) -> Callable[[], None]:
    """Make ``collection`` refuse documents that break ``rule``; returns the undo."""
    db.command("collMod", collection, validator=rule)

    def undo() -> None:
        db.command("collMod", collection, validator={})

    return undo


def _refuse_staging(kind: str) -> Callable[[SimulatorHandle, Database[dict[str, Any]]], Any]:
    def inject(sim: SimulatorHandle, db: Database[dict[str, Any]]) -> Callable[[], None]:
        return _validator(db, "import_runs", {"kind": {"$ne": kind}})

    return inject


def _fail_transaction(sim: SimulatorHandle, db: Database[dict[str, Any]]) -> Callable[[], None]:
    # Display groups are written after categories and items in the same transaction.
    return _validator(db, "display_groups", {"name": {"$ne": "Poisoned"}})


@pytest.mark.parametrize(
    ("stage", "inject"),
    [
        ("menu", _fail_fetch),
        ("categories", _refuse_staging("plan:categories")),
        ("products", _refuse_staging("plan:items")),
        ("display groups", _fail_transaction),
    ],
)
def test_a_failure_at_any_stage_keeps_the_previous_menu_and_the_next_import_succeeds(
    stage: str,
    inject: Callable[[SimulatorHandle, Database[dict[str, Any]]], Callable[[], None]],
    worker: Worker,
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    mongo_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    before = dump_menu(mongo_db, location.id)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1")["price"] = "21.00"
        product(catalog, "P2")["category"]["parent"]["name"] = "Main courses"
        catalog["products"] = [p for p in catalog["products"] if p["id"] != "P7"]
        catalog["selections"][0]["name"] = "Poisoned"

    edit_catalog(sim, change)
    undo = inject(sim, mongo_db)

    failed = sync(api, location)

    assert failed["status"] == "error"
    assert failed["message"].startswith(f"Menu import failed at the {stage} stage:")
    assert dump_menu(mongo_db, location.id) == before
    assert mongo_db["import_runs"].count_documents({}) == 0

    undo()
    recovered = sync(api, location)

    assert recovered["status"] == "success", recovered["message"]
    assert changes(recovered)["items"] == (0, 1, 1)
    assert by_external_id(mongo_db, "items", location.id)["P1"]["price"] == Decimal128("21.00")


def test_a_second_sync_is_refused_while_one_runs(
    worker: Worker,
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
) -> None:
    sim.set_faults(latency_ms=1000)
    url = f"/api/backoffice/kassanet/hendrickx/{location.id}/sync-menu"
    started = api.post(url)

    refused = api.post(url)

    assert started.status_code == 202
    assert started.json()["status"] == "in_progress"
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "A Hendrickx menu import is already in progress for this location; "
        "wait for it to finish."
    }
    assert finished(location, started.json()["run_id"])["status"] == "success"


def test_a_stage_over_its_soft_time_limit_is_recorded_as_failed(
    worker: Worker,
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    mongo_db: Database[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The time limits travel in the task message, from the sender's task options (which
    # Celery caches in `_exec_options`).
    job = tasks.import_kassanet_menu_job
    monkeypatch.setattr(job, "soft_time_limit", 1)
    monkeypatch.setattr(job, "time_limit", 10)
    monkeypatch.setattr(job, "_exec_options", None)
    sim.set_faults(latency_ms=2500)

    status = sync(api, location)

    assert status["status"] == "error", worker.log()[-2500:]
    assert status["message"] == (
        "Menu import failed at the menu stage: the stage took longer than its time limit. "
        "The previous menu is unchanged."
    )
    assert mongo_db["items"].count_documents({}) == 0
    assert mongo_db["import_runs"].count_documents({}) == 0
