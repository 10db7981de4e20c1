"""ResumeStalledMenuImportsJob's logic: an import whose worker was lost is re-enqueued once
from its stage, with the same run id and the next generation; the replaced chain's stages do
nothing; a run that keeps stalling is given up. Stages run in this process against the
simulator over HTTP; the enqueue records the chains it would send (the real chain is driven
by tests/faults/test_import_faults.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Decimal128
from pymongo.database import Database

from integrations.repository import Integration, IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from menus.importer import MenuImporter
from menus.resumption import ImportResumer
from tests.menus.support import (
    by_external_id,
    connect,
    dump_menu,
    edit_catalog,
    product,
)

STALL = timedelta(seconds=360)


class RecordingEnqueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, int]] = []

    def __call__(self, integration_id: str, run_id: str, *, from_stage: str, resumes: int) -> None:
        self.sent.append((integration_id, run_id, from_stage, resumes))


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the stage gets to handle it."""


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    integration = connect(location, sim)
    assert get_service("hendrickx").import_menu_now(integration)["status"] == "success"
    edit_catalog(sim, lambda c: product(c, "P1").update(price="99.00"))  # the new menu
    return integration


def importer() -> MenuImporter:
    return MenuImporter(get_service("hendrickx"))


def current(integration: Integration) -> Integration:
    found = IntegrationRepository().get_by_id(integration.id)
    assert found is not None
    return found


def run(stage: str, integration: Integration, run_id: str, resumes: int = 0) -> bool:
    return importer().run_stage(
        stage, current(integration), run_id, final_attempt=True, resumes=resumes
    )


def stall(db: Database[dict[str, Any]], integration: Integration) -> None:
    """The run's last progress is older than the stall threshold (its worker died then)."""
    db["integrations"].update_one(
        {}, {"$set": {"sync_status.updated_at": datetime.now(UTC) - STALL - timedelta(seconds=1)}}
    )


def killed_at_products(db: Database[dict[str, Any]], integration: Integration) -> str:
    """A run whose worker was SIGKILLed during the products stage, long ago."""
    run_id = importer().claim(integration)
    assert run("menu", integration, run_id)
    assert run("categories", integration, run_id)
    assert importer().status.start_stage(integration.id, run_id, 0, stage="products")
    stall(db, integration)
    return run_id


def test_a_live_import_is_not_resumed(
    integration: Integration, indexed_db: Database[dict[str, Any]]
) -> None:
    run_id = importer().claim(integration)
    assert run("menu", integration, run_id)

    assert ImportResumer(RecordingEnqueue()).stalled() == []


def test_two_resumers_racing_for_a_stalled_import_re_enqueue_it_once(
    integration: Integration, indexed_db: Database[dict[str, Any]]
) -> None:
    run_id = killed_at_products(indexed_db, integration)
    enqueue = RecordingEnqueue()
    first, second = ImportResumer(enqueue), ImportResumer(enqueue)
    seen_by_first, seen_by_second = first.stalled(), second.stalled()
    assert [s.run_id for s in seen_by_first] == [s.run_id for s in seen_by_second] == [run_id]

    won = [first.resume(seen_by_first[0]), second.resume(seen_by_second[0])]

    assert won == [True, False]
    assert enqueue.sent == [(integration.id, run_id, "products", 1)]
    status = current(integration).sync_status
    assert (status["status"], status["run_id"], status["resumes"]) == ("in_progress", run_id, 1)
    assert status["message"] == ("Resuming: the products stage stopped making progress (1 of 3).")
    assert ImportResumer(enqueue).stalled() == []  # the claim is progress


def test_a_resumed_import_ends_with_the_new_menu_and_the_replaced_chain_does_nothing(
    integration: Integration, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    before = dump_menu(indexed_db, location.id)
    run_id = killed_at_products(indexed_db, integration)
    enqueue = RecordingEnqueue()
    assert ImportResumer(enqueue).run() == 1

    # The killed worker's message, redelivered by Redis: generation 0 is no longer current.
    assert run("products", integration, run_id, resumes=0) is False
    assert run("display_groups", integration, run_id, resumes=0) is False
    assert current(integration).sync_status["stage"] == "products"
    assert dump_menu(indexed_db, location.id) == before
    # The resumed chain (generation 1) from the products stage.
    assert run("products", integration, run_id, resumes=1)
    assert run("display_groups", integration, run_id, resumes=1)

    status = current(integration).sync_status
    assert (status["status"], status["run_id"]) == ("success", run_id)
    assert by_external_id(indexed_db, "items", location.id)["P1"]["price"] == Decimal128("99.00")
    assert indexed_db["import_runs"].count_documents({}) == 0


def test_an_import_that_keeps_stalling_is_given_up_and_the_menu_stays_as_it_was(
    integration: Integration, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    before = dump_menu(indexed_db, location.id)
    run_id = killed_at_products(indexed_db, integration)
    enqueue = RecordingEnqueue()

    for _ in range(4):  # 3 resumptions (MENU_IMPORT_MAX_RESUMES), each stalling again
        assert ImportResumer(enqueue).run() == 1
        stall(indexed_db, integration)

    assert [sent[3] for sent in enqueue.sent] == [1, 2, 3]
    status = current(integration).sync_status
    assert (status["status"], status["run_id"]) == ("error", run_id)
    assert status["message"] == (
        "Menu import failed at the products stage: it stopped without finishing 4 times "
        "(its worker was lost), so it was given up. The previous menu is unchanged."
    )
    assert dump_menu(indexed_db, location.id) == before
    assert indexed_db["import_runs"].count_documents({}) == 0
    assert ImportResumer(enqueue).stalled() == []


def test_a_final_stage_killed_after_its_commit_is_finished_without_applying_twice(
    integration: Integration,
    location: Location,
    indexed_db: Database[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = importer().claim(integration)
    for stage in ("menu", "categories", "products"):
        assert run(stage, integration, run_id)

    def die(*args: Any, **kwargs: Any) -> None:
        raise WorkerKilled()

    monkeypatch.setattr("menus.importer.emit_reload_menu", die)  # right after the commit
    with pytest.raises(WorkerKilled):
        run("display_groups", integration, run_id)
    monkeypatch.undo()
    committed = dump_menu(indexed_db, location.id)
    assert by_external_id(indexed_db, "items", location.id)["P1"]["price"] == Decimal128("99.00")
    stall(indexed_db, integration)
    enqueue = RecordingEnqueue()

    assert ImportResumer(enqueue).run() == 1
    assert enqueue.sent == [(integration.id, run_id, "display_groups", 1)]
    assert run("display_groups", integration, run_id, resumes=1)

    status = current(integration).sync_status
    assert (status["status"], status["run_id"]) == ("success", run_id)
    assert status["details"]["report"]["items"]["updated"] == 1
    assert dump_menu(indexed_db, location.id) == committed  # nothing written again


def test_a_new_import_after_a_resumed_one_starts_at_generation_zero(
    integration: Integration, indexed_db: Database[dict[str, Any]]
) -> None:
    run_id = killed_at_products(indexed_db, integration)
    assert ImportResumer(RecordingEnqueue()).run() == 1
    assert run("products", integration, run_id, resumes=1)
    assert run("display_groups", integration, run_id, resumes=1)

    status = get_service("hendrickx").import_menu_now(current(integration))

    assert status["status"] == "success"
    assert status["resumes"] == 0
