"""Import runs as a resource: history, reports (diff, skip reasons), preview, apply, discard,
and the mass-change guard; real MongoDB and the register simulator over HTTP.

The Celery chain is run in this process (``inline_chain`` replaces the enqueue, running the
very same stages) so the API's answers and the stored runs can be checked in one test.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser
from integrations.repository import Integration, IntegrationRepository
from integrations.scheduler import DailySyncScheduler
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from menus.importer import STAGE_MENU, STAGES, MenuImporter
from tests.menus.support import (
    by_external_id,
    connect,
    dump_menu,
    edit_catalog,
    fixture_catalog,
    product,
)

CHANGED = "The register's menu changed since this preview; preview again"


def inline_chain(
    integration_id: str, run_id: str, *, from_stage: str = STAGE_MENU, resumes: int = 0
) -> None:
    """What the menu-import worker does with the chain, in this process."""
    repo = IntegrationRepository()
    first = repo.get_by_id(integration_id)
    assert first is not None
    importer = MenuImporter(get_service(first.provider))
    for stage in STAGES[STAGES.index(from_stage) :]:
        current = repo.get_by_id(integration_id)
        assert current is not None
        if not importer.run_stage(stage, current, run_id, final_attempt=True, resumes=resumes):
            break


@pytest.fixture(autouse=True)
def worker_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("menus.tasks.enqueue_menu_import", inline_chain)


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    return connect(location, sim)


@pytest.fixture
def api(alice: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    return client


def base(location: Location) -> str:
    return f"/api/backoffice/kassanet/hendrickx/{location.id}"


def sync(api: APIClient, location: Location, **body: bool) -> dict[str, Any]:
    """POST sync-menu (run inline); returns the run it made."""
    response = api.post(f"{base(location)}/sync-menu", body, format="json")
    assert response.status_code == 202, response.json()
    run_id = response.json()["run_id"]
    run = api.get(f"{base(location)}/imports/{run_id}")
    assert run.status_code == 200
    body_: dict[str, Any] = run.json()
    return body_


def sync_status(integration: Integration) -> dict[str, Any]:
    current = IntegrationRepository().get_by_id(integration.id)
    assert current is not None
    return dict(current.sync_status)


def drop(*ids: str) -> Any:
    def change(catalog: dict[str, Any]) -> None:
        catalog["products"] = [p for p in catalog["products"] if p["id"] not in ids]

    return change


# -- runs and reports ------------------------------------------------------------------------


def test_every_import_is_a_run_listed_newest_first_and_paginated(
    api: APIClient, location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    first = sync(api, location)
    get_service("hendrickx").import_menu_now(integration)  # the command's way
    edit_catalog(sim, lambda c: product(c, "P1").update(price="15.00"))
    third = sync(api, location, preview=True)

    page = api.get(f"{base(location)}/imports", {"limit": 2}).json()

    assert page["count"] == 3
    assert [(r["status"], r["trigger"], r["preview"]) for r in page["results"]] == [
        ("preview", "manual", True),
        ("success", "command", False),
    ]
    assert page["results"][0]["id"] == third["id"]
    assert "diff" not in page["results"][0]  # the list leaves the long lists out
    rest = api.get(f"{base(location)}/imports", {"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in rest["results"]] == [first["id"]]
    assert first["status"] == "success"
    assert first["read"] == {"products": 7, "selections": 3, "tables": 3}
    assert set(first["durations"]) == set(STAGES)
    assert first["finished_at"] is not None and first["applied_at"] is not None
    assert first["report"]["items"] == {
        "created": 4,
        "updated": 0,
        "deleted": 0,
        "skipped": 3,
        "warnings": 0,
    }
    created = first["diff"]["items"]["created"]
    assert created["total"] == 4
    assert sorted((e["pos_id"], e["name"]) for e in created["entries"]) == [
        ("P1", "Spaghetti bolognese"),
        ("P2", "Lasagne"),
        ("P3", "Cola"),
        ("P7", "Tiramisu"),
    ]


def test_the_diff_names_each_changed_field_old_and_new_and_each_deletion(
    api: APIClient, location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    sync(api, location)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1").update(price="15.00", name="Spaghetti bolo")
        catalog["products"] = [p for p in catalog["products"] if p["id"] != "P7"]

    edit_catalog(sim, change)

    run = sync(api, location)

    assert run["status"] == "success"
    items = run["diff"]["items"]
    assert items["updated"] == {
        "total": 1,
        "entries": [
            {
                "pos_id": "P1",
                "name": "Spaghetti bolo",
                "changes": {
                    "name": {"old": "Spaghetti bolognese", "new": "Spaghetti bolo"},
                    "price": {"old": "14.50", "new": "15.00"},
                },
            }
        ],
    }
    assert items["deleted"] == {"total": 1, "entries": [{"pos_id": "P7", "name": "Tiramisu"}]}
    assert run["diff"]["categories"]["deleted"]["entries"] == [{"pos_id": "C5", "name": "Desserts"}]
    # A list of references changes as counts, not as ids.
    assert run["diff"]["display_groups"]["updated"]["entries"] == [
        {
            "pos_id": "S3",
            "name": "Sweet",
            "changes": {"item_ids": {"old": "1 linked", "new": "0 linked (0 added, 1 removed)"}},
        }
    ]


def test_each_skip_reason_is_listed_with_the_product(
    api: APIClient, location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    sync(api, location)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P7")["active"] = False  # imported before: removed now
        extra = copy.deepcopy(product(catalog, "P3"))
        catalog["products"] += [
            {**extra, "id": "X1", "name": "Float price", "price": 3.2},
            {**extra, "id": "X2", "name": "No category id", "category": {"name": "Drinks"}},
            {**extra, "id": "X3", "name": "Off the menu"},  # in no selection
            {**extra, "id": "P3", "name": "Cola again"},
        ]

    edit_catalog(sim, change)

    run = sync(api, location, confirm_deletions=True)

    skipped = run["skipped"]
    entries = {(e["pos_id"], e["name"]): (e["reason"], e["removed"]) for e in skipped["entries"]}
    assert entries == {
        ("P4", "Service item"): ("placeholder_kitchen_name", False),
        ("P5", "Pager 12"): ("pager_pattern", False),
        ("P6", "Winter soup"): ("inactive", False),
        ("P7", "Tiramisu"): ("inactive", True),
        ("X1", "Float price"): ("invalid_price", False),
        ("X2", "No category id"): ("unknown_category", False),
        ("X3", "Off the menu"): ("not_in_selection", False),
        ("P3", "Cola again"): ("duplicate_id", False),
    }
    assert skipped["reasons"] == {
        "placeholder_kitchen_name": 1,
        "pager_pattern": 1,
        "inactive": 2,
        "invalid_price": 1,
        "unknown_category": 1,
        "not_in_selection": 1,
        "duplicate_id": 1,
    }
    assert (skipped["total"], skipped["truncated"]) == (8, False)
    texts = {e["reason"]: e["text"] for e in skipped["entries"]}
    assert texts["placeholder_kitchen_name"] == "placeholder kitchen name 'zz'"


def test_the_history_keeps_the_newest_runs_only(
    settings: Any,
    api: APIClient,
    location: Location,
    integration: Integration,
    indexed_db: Database[dict[str, Any]],
) -> None:
    settings.MENU_IMPORT_HISTORY = 3
    runs = [sync(api, location)["id"] for _ in range(3)]
    held = sync(api, location, preview=True)["id"]  # staging kept for the preview

    page = api.get(f"{base(location)}/imports").json()

    assert page["count"] == 3
    assert [r["id"] for r in page["results"]] == [held, runs[2], runs[1]]
    assert api.get(f"{base(location)}/imports/{runs[0]}").status_code == 404
    sync(api, location)
    sync(api, location)
    sync(api, location)  # the preview leaves the history, its staging with it
    assert indexed_db["import_runs"].count_documents({"run_id": held}) == 0


def test_a_run_of_another_vendor_or_integration_is_not_found(
    api: APIClient, location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    run = sync(api, location)
    other = connect(location, sim, "vanhoutte")
    assert other.id != integration.id

    response = api.get(f"/api/backoffice/kassanet/vanhoutte/{location.id}/imports/{run['id']}")

    assert response.status_code == 404


# -- preview, apply, discard -----------------------------------------------------------------


def test_a_preview_writes_nothing_and_can_be_applied(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    edit_catalog(sim, lambda c: product(c, "P1").update(price="15.00"))
    before = dump_menu(indexed_db, location.id)

    preview = sync(api, location, preview=True)

    assert preview["status"] == "preview"
    assert dump_menu(indexed_db, location.id) == before
    assert preview["diff"]["items"]["updated"]["entries"][0]["changes"] == {
        "price": {"old": "14.50", "new": "15.00"}
    }
    assert sync_status(integration)["status"] == "preview"

    response = api.post(f"{base(location)}/imports/{preview['id']}/apply")

    assert response.status_code == 202
    run = api.get(f"{base(location)}/imports/{preview['id']}").json()
    assert run["status"] == "success"
    items = by_external_id(indexed_db, "items", location.id)
    assert str(items["P1"]["price"]) == "15.00"
    assert sync_status(integration)["status"] == "success"
    assert indexed_db["import_runs"].count_documents({}) == 0


def test_apply_refuses_a_register_that_changed_since_the_preview(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    preview = sync(api, location, preview=True)
    edit_catalog(sim, lambda c: product(c, "P3").update(price="3.50"))
    before = dump_menu(indexed_db, location.id)

    response = api.post(f"{base(location)}/imports/{preview['id']}/apply")

    assert response.status_code == 409
    assert response.json() == {"detail": CHANGED}
    assert dump_menu(indexed_db, location.id) == before
    assert api.get(f"{base(location)}/imports/{preview['id']}").json()["status"] == "preview"


def test_a_stock_change_alone_does_not_block_an_apply_and_is_refreshed_after_it(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    edit_catalog(sim, lambda c: product(c, "P2").update(price="17.00"))
    preview = sync(api, location, preview=True)
    edit_catalog(sim, lambda c: product(c, "P1").update(stock=0))  # a sale, after the preview

    response = api.post(f"{base(location)}/imports/{preview['id']}/apply")

    assert response.status_code == 202, response.json()
    items = by_external_id(indexed_db, "items", location.id)
    assert str(items["P2"]["price"]) == "17.00"
    assert items["P1"]["available"] is False
    stock = indexed_db["inventory"].find_one({"item_id": str(items["P1"]["_id"])})
    assert stock is not None and stock["quantity"] == 0


def test_apply_refuses_a_preview_planned_before_another_import(
    api: APIClient, location: Location, integration: Integration
) -> None:
    sync(api, location)
    preview = sync(api, location, preview=True)
    sync(api, location)  # applied since: the preview's plans describe an older menu

    response = api.post(f"{base(location)}/imports/{preview['id']}/apply")

    assert response.status_code == 409
    assert "preview again" in response.json()["detail"]


def test_a_discarded_preview_cannot_be_applied(
    api: APIClient,
    location: Location,
    integration: Integration,
    indexed_db: Database[dict[str, Any]],
) -> None:
    preview = sync(api, location, preview=True)
    assert indexed_db["import_runs"].count_documents({"run_id": preview["id"]}) > 0

    discarded = api.post(f"{base(location)}/imports/{preview['id']}/discard")

    assert discarded.status_code == 200
    assert discarded.json()["status"] == "discarded"
    assert indexed_db["import_runs"].count_documents({}) == 0
    assert sync_status(integration)["status"] == "discarded"
    again = api.post(f"{base(location)}/imports/{preview['id']}/apply")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "Only a preview or a run held for review can be applied; this run is discarded."
    }
    assert indexed_db["items"].count_documents({"location_id": location.id}) == 0


def test_an_applied_run_cannot_be_discarded_and_an_unknown_run_is_404(
    api: APIClient, location: Location, integration: Integration
) -> None:
    run = sync(api, location)

    assert api.post(f"{base(location)}/imports/{run['id']}/discard").status_code == 409
    assert api.post(f"{base(location)}/imports/nope/apply").status_code == 404
    assert api.get(f"{base(location)}/imports/nope").status_code == 404


def test_sync_menu_refuses_a_body_that_is_not_booleans(
    api: APIClient, location: Location, integration: Integration
) -> None:
    unknown = api.post(f"{base(location)}/sync-menu", {"force": True}, format="json")
    not_bool = api.post(f"{base(location)}/sync-menu", {"preview": "yes"}, format="json")

    assert (unknown.status_code, unknown.json()) == (400, {"force": ["Unknown field; remove it."]})
    assert (not_bool.status_code, not_bool.json()) == (400, {"preview": ["Must be true or false."]})
    assert IntegrationRepository().get_by_id(integration.id).sync_status == {}  # type: ignore[union-attr]


# -- the mass-change guard -------------------------------------------------------------------


def test_a_mass_deletion_is_held_and_writes_nothing(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    edit_catalog(sim, drop("P3", "P7"))  # 2 of the 4 items: 50% > 30%
    before = dump_menu(indexed_db, location.id)

    run = sync(api, location)

    assert run["status"] == "needs_review"
    assert dump_menu(indexed_db, location.id) == before
    assert run["guard"] == {
        "held": True,
        "existing": 4,
        "deleted": 2,
        "remaining": 2,
        "share": 0.5,
        "max_share": 0.3,
        "reason": "it would delete 2 of 4 items (50%; at most 30% may go in one import)",
    }
    status = sync_status(integration)
    assert status["status"] == "needs_review"
    assert status["message"] == (
        "Menu import held for review: it would delete 2 of 4 items (50%; at most 30% may go "
        "in one import). Nothing was written to the menu; apply or discard it."
    )
    assert status["details"]["guard"]["deleted"] == 2
    assert [e["pos_id"] for e in run["diff"]["items"]["deleted"]["entries"]] == ["P3", "P7"]

    response = api.post(f"{base(location)}/imports/{run['id']}/apply")

    assert response.status_code == 202
    assert sorted(by_external_id(indexed_db, "items", location.id)) == ["P1", "P2"]
    assert api.get(f"{base(location)}/imports/{run['id']}").json()["status"] == "success"


def test_a_run_that_leaves_no_item_is_held(
    api: APIClient, location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    sync(api, location)
    integration_repo = IntegrationRepository()
    integration_repo.update_settings(integration.id, max_delete_share=1.0)
    edit_catalog(sim, lambda c: [p.update(active=False) for p in c["products"]])

    run = sync(api, location)

    assert run["status"] == "needs_review"
    assert run["guard"]["reason"] == (
        "it would delete all 4 items and leave the menu without any item"
    )


def test_deleting_exactly_the_allowed_share_is_not_held(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    IntegrationRepository().update_settings(integration.id, max_delete_share=0.25)
    edit_catalog(sim, drop("P7"))  # 1 of 4 = 25%: not more than the share

    run = sync(api, location)

    assert run["status"] == "success"
    assert sorted(by_external_id(indexed_db, "items", location.id)) == ["P1", "P2", "P3"]


def test_confirm_deletions_and_the_per_integration_override_pass_the_guard(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sync(api, location)
    edit_catalog(sim, drop("P7", "P3"))

    confirmed = sync(api, location, confirm_deletions=True)

    assert confirmed["status"] == "success"
    assert confirmed["guard"]["held"] is True  # it would have been held
    assert sorted(by_external_id(indexed_db, "items", location.id)) == ["P1", "P2"]

    # The override, through the connect endpoint: 1 of 2 (50%) passes at 0.6.
    saved = api.post(base(location), {"max_delete_share": 0.6}, format="json")
    assert saved.status_code == 200
    assert saved.json()["settings"]["max_delete_share"] == 0.6
    edit_catalog(sim, drop("P2"))
    assert sync(api, location)["status"] == "success"
    assert api.post(base(location), {"max_delete_share": 1.5}, format="json").status_code == 400


def test_a_first_import_onto_an_empty_menu_is_never_held(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    IntegrationRepository().update_settings(integration.id, max_delete_share=0.0)
    edit_catalog(sim, lambda c: [p.update(active=False) for p in c["products"]])

    empty = sync(api, location)  # nothing to delete, nothing left: still not held

    assert empty["status"] == "success"
    sim.set_catalog(fixture_catalog())
    assert sync(api, location)["status"] == "success"
    assert indexed_db["items"].count_documents({"location_id": location.id}) == 4


def test_the_daily_sync_obeys_the_guard(
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    from datetime import UTC, datetime, timedelta

    get_service("hendrickx").import_menu_now(integration)
    edit_catalog(sim, drop("P3", "P7"))
    now = datetime.now(UTC)
    IntegrationRepository().update_settings(
        integration.id, sync_time_local="03:00", next_run_time=now - timedelta(minutes=1)
    )
    before = dump_menu(indexed_db, location.id)

    (scheduled,) = DailySyncScheduler().run_due(now)

    assert scheduled.outcome == "started"
    run = indexed_db["menu_import_runs"].find_one({"_id": scheduled.run_id})
    assert run is not None
    assert (run["trigger"], run["status"]) == ("daily", "needs_review")
    assert dump_menu(indexed_db, location.id) == before


def test_the_command_previews_confirms_and_exits_5_when_held(
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("import_kassanet", location.id, provider="hendrickx", preview=True)
    assert indexed_db["items"].count_documents({"location_id": location.id}) == 0
    assert "Menu preview ready: 4 items to create" in capsys.readouterr().out

    call_command("import_kassanet", location.id, provider="hendrickx")
    edit_catalog(sim, drop("P3", "P7"))
    with pytest.raises(CommandError) as held:
        call_command("import_kassanet", location.id, provider="hendrickx")
    assert held.value.returncode == 5
    assert indexed_db["items"].count_documents({"location_id": location.id}) == 4

    call_command("import_kassanet", location.id, provider="hendrickx", confirm_deletions=True)
    assert sorted(by_external_id(indexed_db, "items", location.id)) == ["P1", "P2"]
