"""The menu import against the simulator over real HTTP, its stages run in this process.

(The Celery chain itself is exercised by test_pipeline_e2e.py with a real worker.)
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Decimal128
from django.core.management import CommandError, call_command
from pymongo.database import Database

from integrations.repository import Integration, IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from menus.importer import ImportInProgressError
from tests.menus.support import (
    by_external_id,
    connect,
    dump_menu,
    edit_catalog,
    fixture_catalog,
    product,
)

ZERO = {"created": 0, "updated": 0, "deleted": 0}


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    return connect(location, sim)


def run_import(integration: Integration, *, confirm_deletions: bool = False) -> dict[str, Any]:
    return get_service(integration.provider).import_menu_now(
        integration, confirm_deletions=confirm_deletions
    )


def counts(status: dict[str, Any], entity: str) -> dict[str, int]:
    report = status["details"]["report"][entity]
    return {key: report[key] for key in ("created", "updated", "deleted")}


def test_first_import_maps_the_register_menu(
    integration: Integration, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    status = run_import(integration)

    assert status["status"] == "success"
    categories = by_external_id(indexed_db, "categories", location.id)
    assert {k: (c["name"], c["parent_id"]) for k, c in categories.items()} == {
        "C1": ("Mains", None),
        "C2": ("Pasta", str(categories["C1"]["_id"])),
        "C3": ("Drinks", None),
        "C5": ("Desserts", None),
    }
    groups = by_external_id(indexed_db, "modifier_groups", location.id)
    cheese = groups["G1"]
    assert (cheese["name"], cheese["min"], cheese["max"]) == ("Cheese", 0, 1)
    assert [
        (m["name"], m["kitchen_name"], m["price"], m["external_ids"]) for m in cheese["modifiers"]
    ] == [
        ("Extra cheese", "XCHEESE", Decimal128("1.50"), {"hendrickx": "M1"}),
        ("No cheese", "NOCHEESE", Decimal128("0.00"), {"hendrickx": "M2"}),
    ]
    items = by_external_id(indexed_db, "items", location.id)
    assert sorted(items) == ["P1", "P2", "P3", "P7"]  # no placeholders, no inactive product
    lasagne = items["P2"]
    assert {k: lasagne[k] for k in ("name", "kitchen_name", "plu", "price", "vat_rate")} == {
        "name": "Lasagne",
        "kitchen_name": "LASAGNE",
        "plu": "10002",
        "price": Decimal128("16.00"),
        "vat_rate": Decimal128("12.00"),
    }
    assert lasagne["category_id"] == str(categories["C2"]["_id"])
    assert lasagne["modifier_group_ids"] == [str(groups["G1"]["_id"]), str(groups["G2"]["_id"])]
    assert (lasagne["location_id"], lasagne["imported_by"]) == (location.id, "hendrickx")
    assert (lasagne["description"], lasagne["image"], lasagne["display_order"]) == ("", None, None)
    display_groups = by_external_id(indexed_db, "display_groups", location.id)
    assert {k: (g["name"], g["sort"]) for k, g in display_groups.items()} == {
        "S1": ("Food", 10),
        "S2": ("Drinks", 20),
        "S3": ("Sweet", 30),
    }
    assert display_groups["S1"]["item_ids"] == [str(items["P2"]["_id"]), str(items["P1"]["_id"])]
    menu = indexed_db["menus"].find_one({"location_id": location.id})
    assert menu is not None
    assert (menu["name"], menu["imported_by"]) == ("Hendrickx menu", "hendrickx")
    assert menu["display_group_ids"] == [str(display_groups[k]["_id"]) for k in ("S1", "S2", "S3")]
    inventory = {
        doc["item_id"]: doc["quantity"]
        for doc in indexed_db["inventory"].find({"location_id": location.id})
    }
    assert inventory == {
        str(items["P1"]["_id"]): 12,
        str(items["P2"]["_id"]): None,
        str(items["P3"]["_id"]): 0,
        str(items["P7"]["_id"]): 3,
    }
    details = status["details"]
    assert details["menu_id"] == str(menu["_id"])
    assert details["display_groups_imported"] == 3
    assert details["report"]["items"] == {
        "created": 4,
        "updated": 0,
        "deleted": 0,
        "skipped": 3,
        "warnings": 0,
    }
    assert details["report"]["display_groups"]["warnings"] == 1  # P404 is unknown
    assert details["tables"]["tables"] == 3
    section = indexed_db["table_sections"].find_one({"location_id": location.id})
    assert section is not None and section["imported_by"] == "hendrickx"
    stored = IntegrationRepository().get_by_id(integration.id)
    assert stored is not None
    assert stored.settings["tables"] == [1, 2, 7]
    assert stored.settings["table_section_id"] == str(section["_id"])
    event = indexed_db["events"].find_one({"type": "ReloadMenu"})
    assert event is not None and event["location_id"] == location.id
    assert indexed_db["import_runs"].count_documents({}) == 0


def test_unchanged_reimport_writes_nothing(
    integration: Integration, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    run_import(integration)
    before = dump_menu(indexed_db, location.id)

    status = run_import(integration)

    assert status["status"] == "success"
    for entity in (
        "categories",
        "modifier_groups",
        "items",
        "display_groups",
        "menus",
        "inventory",
    ):
        assert counts(status, entity) == ZERO, entity
    assert status["details"]["tables"]["created"] == 0
    assert dump_menu(indexed_db, location.id) == before


def test_register_changes_are_reflected_and_ids_stay_stable(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    items_before = by_external_id(indexed_db, "items", location.id)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1")["price"] = "15.00"
        product(catalog, "P2")["modifier_groups"] = product(catalog, "P2")["modifier_groups"][1:]
        product(catalog, "P2")["stock"] = 9
        catalog["products"] = [p for p in catalog["products"] if p["id"] != "P3"]
        for p in catalog["products"]:
            if p["category"]["id"] == "C2":
                p["category"]["name"] = "Pastas"
        catalog["selections"][1]["sort"] = 40  # Food moves after Sweet

    edit_catalog(sim, change)

    status = run_import(integration)

    assert status["status"] == "success"
    items = by_external_id(indexed_db, "items", location.id)
    assert sorted(items) == ["P1", "P2", "P7"]
    assert {k: items[k]["_id"] for k in items} == {k: items_before[k]["_id"] for k in items}
    assert items["P1"]["price"] == Decimal128("15.00")
    groups = by_external_id(indexed_db, "modifier_groups", location.id)
    assert sorted(groups) == ["G1", "G2"]
    assert items["P2"]["modifier_group_ids"] == [str(groups["G2"]["_id"])]
    assert by_external_id(indexed_db, "categories", location.id)["C2"]["name"] == "Pastas"
    assert "C3" not in by_external_id(indexed_db, "categories", location.id)  # now empty
    display_groups = by_external_id(indexed_db, "display_groups", location.id)
    menu = indexed_db["menus"].find_one({"location_id": location.id})
    assert menu is not None
    assert menu["display_group_ids"] == [str(display_groups[k]["_id"]) for k in ("S2", "S3", "S1")]
    assert display_groups["S2"]["item_ids"] == []
    inventory = indexed_db["inventory"].find_one({"item_id": str(items["P2"]["_id"])})
    assert inventory is not None and inventory["quantity"] == 9
    assert indexed_db["inventory"].count_documents({"location_id": location.id}) == 3
    assert counts(status, "items") == {"created": 0, "updated": 2, "deleted": 1}
    assert counts(status, "categories") == {"created": 0, "updated": 1, "deleted": 1}
    assert counts(status, "display_groups") == {"created": 0, "updated": 2, "deleted": 0}
    assert counts(status, "menus") == {"created": 0, "updated": 1, "deleted": 0}
    assert counts(status, "inventory") == {"created": 0, "updated": 1, "deleted": 1}


def test_reimport_keeps_local_edits(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    local = {"description": "Grandma's recipe", "image": "https://cdn/img.png", "display_order": 3}
    indexed_db["items"].update_one({"external_ids.hendrickx": "P1"}, {"$set": local})
    indexed_db["categories"].update_one({"external_ids.hendrickx": "C1"}, {"$set": local})
    edit_catalog(sim, lambda c: product(c, "P1").update(name="Spaghetti bolo", price="15.50"))

    run_import(integration)

    item = indexed_db["items"].find_one({"external_ids.hendrickx": "P1"})
    category = indexed_db["categories"].find_one({"external_ids.hendrickx": "C1"})
    assert item is not None and category is not None
    assert {k: item[k] for k in local} == local
    assert {k: category[k] for k in local} == local
    assert (item["name"], item["price"]) == ("Spaghetti bolo", Decimal128("15.50"))


def test_product_that_becomes_inactive_or_a_placeholder_is_removed(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P7")["active"] = False
        product(catalog, "P3")["kitchen_name"] = "ZZ"

    edit_catalog(sim, change)

    # 2 of 4 items go: more than the mass-change guard lets through unconfirmed.
    status = run_import(integration, confirm_deletions=True)

    assert sorted(by_external_id(indexed_db, "items", location.id)) == ["P1", "P2"]
    assert counts(status, "items") == {"created": 0, "updated": 0, "deleted": 2}
    assert status["details"]["report"]["items"]["skipped"] == 5


def test_bad_products_are_skipped_and_reported(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    sim.set_catalog(fixture_catalog("register_bad_products.json"))

    status = run_import(integration)

    assert status["status"] == "success"
    assert sorted(by_external_id(indexed_db, "items", location.id)) == ["B1"]
    assert status["details"]["report"]["items"] == {
        "created": 1,
        "updated": 0,
        "deleted": 0,
        "skipped": 5,
        "warnings": 5,
    }
    assert (
        "product 'B2' skipped: products[1].price: expected a money string like '12.50', got 12.5"
        in status["details"]["warnings"]
    )


def test_register_failure_keeps_the_previous_menu_and_the_next_import_succeeds(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    before = dump_menu(indexed_db, location.id)
    edit_catalog(sim, lambda c: product(c, "P1").update(price="99.00"))
    sim.set_faults(endpoint_status={"endpoint": "GetProductSelection", "status": 401, "count": 1})

    status = run_import(integration)

    assert status["status"] == "error"
    assert status["message"].startswith(
        "Menu import failed at the menu stage: Kassanet GetProductSelection failed with HTTP 401"
    )
    assert status["message"].endswith("The previous menu is unchanged.")
    assert dump_menu(indexed_db, location.id) == before
    assert indexed_db["import_runs"].count_documents({}) == 0

    status = run_import(integration)

    assert status["status"] == "success"
    assert by_external_id(indexed_db, "items", location.id)["P1"]["price"] == Decimal128("99.00")


def test_wrong_encryption_token_fails_the_import_without_touching_the_menu(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    before = dump_menu(indexed_db, location.id)
    wrong = connect(location, sim, encryption_token="not-the-register-token")

    status = run_import(wrong)

    assert status["status"] == "error"
    assert "Blowfish decryption error" in status["message"]
    assert dump_menu(indexed_db, location.id) == before


def test_failure_inside_the_final_transaction_rolls_everything_back(
    integration: Integration,
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run_import(integration)
    before = dump_menu(indexed_db, location.id)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1")["price"] = "20.00"  # items are written before display groups
        catalog["products"][0]["category"]["parent"]["name"] = "Main courses"
        catalog["selections"][2]["name"] = "Poisoned"

    edit_catalog(sim, change)
    indexed_db.command("collMod", "display_groups", validator={"name": {"$ne": "Poisoned"}})

    status = run_import(integration)

    assert status["status"] == "error"
    assert status["message"] == (
        "Menu import failed at the display groups stage: the database refused a write: "
        "Document failed validation. The previous menu is unchanged."
    )
    assert status["details"]["error"] == {"type": "BulkWriteError", "code": 121, "write_errors": 1}
    assert dump_menu(indexed_db, location.id) == before

    indexed_db.command("collMod", "display_groups", validator={})
    assert run_import(integration)["status"] == "success"
    assert by_external_id(indexed_db, "items", location.id)["P1"]["price"] == Decimal128("20.00")


def test_a_second_import_is_refused_while_one_is_in_progress(
    integration: Integration,
) -> None:
    service = get_service("hendrickx")
    service.integrations.claim_sync(integration.id, "running-run")

    with pytest.raises(ImportInProgressError, match="already in progress"):
        service.import_menu_now(integration)


def test_a_stale_import_can_be_taken_over(
    integration: Integration, indexed_db: Database[dict[str, Any]]
) -> None:
    service = get_service("hendrickx")
    service.integrations.claim_sync(integration.id, "dead-run")
    indexed_db["integrations"].update_one(
        {}, {"$set": {"sync_status.updated_at": datetime.now(UTC) - timedelta(hours=1)}}
    )

    assert service.import_menu_now(integration)["status"] == "success"


def test_both_providers_import_side_by_side(
    location: Location, sim: SimulatorHandle, indexed_db: Database[dict[str, Any]]
) -> None:
    hendrickx, vanhoutte = connect(location, sim, "hendrickx"), connect(location, sim, "vanhoutte")

    run_import(hendrickx)
    run_import(vanhoutte)
    run_import(hendrickx)

    assert indexed_db["items"].count_documents({"imported_by": "hendrickx"}) == 4
    assert indexed_db["items"].count_documents({"imported_by": "vanhoutte"}) == 4
    assert sorted(m["name"] for m in indexed_db["menus"].find()) == [
        "Hendrickx menu",
        "Vanhoutte menu",
    ]


def test_import_kassanet_command_runs_the_import_in_process(
    integration: Integration, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    out = io.StringIO()

    call_command("import_kassanet", location.id, "--provider=hendrickx", stdout=out)

    assert "\nMenu imported: 4 items created, 0 updated, 0 deleted" in out.getvalue()
    assert indexed_db["items"].count_documents({"location_id": location.id}) == 4


def test_import_kassanet_command_refuses_a_location_without_integration(
    location: Location,
) -> None:
    with pytest.raises(CommandError, match="has no Vanhoutte integration"):
        call_command("import_kassanet", location.id, "--provider=vanhoutte")
