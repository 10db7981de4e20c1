"""Menu versions and their restore: real MongoDB, the register simulator over HTTP."""

from __future__ import annotations

from typing import Any

import bson
import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser
from integrations.repository import Integration, IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from menus.versions import VERSION_ENTITIES
from tests.menus.support import by_external_id, connect, edit_catalog, product
from tests.menus.test_runs import inline_chain


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


def run_import(integration: Integration, *, confirm_deletions: bool = False) -> dict[str, Any]:
    return get_service("hendrickx").import_menu_now(
        integration, confirm_deletions=confirm_deletions
    )


def menu_docs(db: Database[dict[str, Any]], location_id: str) -> dict[str, list[bytes]]:
    """The menu records a version holds, as BSON bytes in ``_id`` order."""
    return {
        entity: [
            bson.encode(doc) for doc in db[entity].find({"location_id": location_id}).sort("_id", 1)
        ]
        for entity in VERSION_ENTITIES
    }


def versions(api: APIClient, location: Location) -> list[dict[str, Any]]:
    response = api.get(f"{base(location)}/menu-versions")
    assert response.status_code == 200
    body: list[dict[str, Any]] = response.json()
    return body


def test_an_applied_change_keeps_the_replaced_menu_and_only_the_newest_are_kept(
    settings: Any,
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
) -> None:
    settings.MENU_VERSIONS_KEEP = 2
    first = run_import(integration)  # onto an empty menu: nothing replaced
    run_import(integration)  # unchanged: nothing replaced
    assert versions(api, location) == []
    assert first["details"]["version_kept"] is False

    runs = []
    for price in ("15.00", "15.50", "16.00"):
        edit_catalog(sim, lambda c, p=price: product(c, "P1").update(price=p))
        runs.append(run_import(integration)["details"]["run_id"])

    kept = versions(api, location)
    assert [v["run_id"] for v in kept] == [runs[2], runs[1]]
    assert kept[0]["counts"] == {
        "categories": 4,
        "modifier_groups": 2,
        "items": 4,
        "display_groups": 3,
        "menus": 1,
    }


def test_a_restore_puts_the_menu_and_its_local_edits_back_and_flags_what_the_register_lost(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    indexed_db["items"].update_one(
        {"external_ids.hendrickx": "P1"}, {"$set": {"description": "Grandma's recipe"}}
    )
    before = menu_docs(indexed_db, location.id)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1")["price"] = "19.00"
        catalog["products"] = [p for p in catalog["products"] if p["id"] != "P7"]

    edit_catalog(sim, change)
    changed = run_import(integration)
    assert changed["status"] == "success"
    indexed_db["items"].update_one(
        {"external_ids.hendrickx": "P1"}, {"$set": {"description": "Edited later"}}
    )
    (version,) = versions(api, location)

    response = api.post(f"{base(location)}/menu-versions/{version['id']}/restore")

    assert response.status_code == 200, response.json()
    run = response.json()
    assert (run["trigger"], run["status"]) == ("restore", "success")
    assert run["register_missing"] == [{"pos_id": "P7", "name": "Tiramisu"}]
    items = by_external_id(indexed_db, "items", location.id)
    assert items["P7"]["register_missing"] is True
    assert "register_missing" not in items["P1"]
    assert items["P1"]["description"] == "Grandma's recipe"
    # Exactly the menu as it was, ids included; only the flag on P7 is new.
    indexed_db["items"].update_one({"_id": items["P7"]["_id"]}, {"$unset": {"register_missing": 1}})
    assert menu_docs(indexed_db, location.id) == before
    status = IntegrationRepository().get_by_id(integration.id)
    assert status is not None and status.sync_status["status"] == "success"
    # The restore kept the menu it replaced: it can be undone.
    assert [v["run_id"] for v in versions(api, location)] == [run["id"], version["id"]]
    listed = api.get(f"{base(location)}/imports").json()["results"][0]
    assert (listed["id"], listed["trigger"]) == (run["id"], "restore")


def test_a_restore_is_one_transaction(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    edit_catalog(sim, lambda c: product(c, "P1").update(price="19.00"))
    run_import(integration)
    (version,) = versions(api, location)
    before = menu_docs(indexed_db, location.id)
    # Display groups are written after categories and items: refuse the restored "Food".
    indexed_db.command("collMod", "display_groups", validator={"name": {"$ne": "Food"}})

    response = api.post(f"{base(location)}/menu-versions/{version['id']}/restore")

    assert response.status_code == 503
    assert response.json()["detail"].endswith("the menu is unchanged.")
    assert menu_docs(indexed_db, location.id) == before
    assert len(versions(api, location)) == 1
    assert indexed_db["menu_version_chunks"].distinct("version_id") == [version["id"]]


def test_a_restore_survives_a_later_preview_and_refuses_an_earlier_one(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    edit_catalog(sim, lambda c: product(c, "P1").update(price="19.00"))
    run_import(integration)
    (version,) = versions(api, location)
    earlier = api.post(f"{base(location)}/sync-menu", {"preview": True}, format="json").json()

    assert api.post(f"{base(location)}/menu-versions/{version['id']}/restore").status_code == 200
    restored = menu_docs(indexed_db, location.id)
    later = api.post(f"{base(location)}/sync-menu", {"preview": True}, format="json").json()

    assert menu_docs(indexed_db, location.id) == restored
    assert str(by_external_id(indexed_db, "items", location.id)["P1"]["price"]) == "14.50"
    preview = api.get(f"{base(location)}/imports/{later['run_id']}").json()
    assert preview["diff"]["items"]["updated"]["entries"][0]["changes"]["price"] == {
        "old": "14.50",
        "new": "19.00",
    }
    refused = api.post(f"{base(location)}/imports/{earlier['run_id']}/apply")
    assert refused.status_code == 409
    assert "preview again" in refused.json()["detail"]


def test_the_next_import_removes_a_flagged_item_or_clears_its_flag(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    catalog = sim.catalog()
    edit_catalog(sim, lambda c: c.update(products=[p for p in c["products"] if p["id"] != "P7"]))
    run_import(integration)
    (version,) = versions(api, location)
    api.post(f"{base(location)}/menu-versions/{version['id']}/restore")
    sim.set_catalog(catalog)  # the register has P7 again

    run = run_import(integration)

    assert run["status"] == "success"
    items = by_external_id(indexed_db, "items", location.id)
    assert items["P7"]["register_missing"] is False
    item = api.get(f"/api/backoffice/locations/{location.id}/items").json()["results"]
    assert {i["external_ids"]["hendrickx"]: i["register_missing"] for i in item}["P7"] is False


def test_an_unknown_version_is_404(
    api: APIClient, location: Location, integration: Integration
) -> None:
    response = api.post(f"{base(location)}/menu-versions/nope/restore")

    assert response.status_code == 404
