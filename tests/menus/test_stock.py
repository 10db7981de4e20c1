"""The stock refresh updates inventory and availability and leaves the menu's structure alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser
from integrations.repository import CONNECTED, Integration, IntegrationRepository
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from menus import tasks
from menus.stock import due_integrations
from tests.menus.support import by_external_id, connect, edit_catalog, product

STRUCTURE = ("categories", "modifier_groups", "display_groups", "menus")


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    connected = connect(location, sim)
    assert get_service("hendrickx").import_menu_now(connected)["status"] == "success"
    return connected


@pytest.fixture
def api(alice: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    return client


def structure(db: Database[dict[str, Any]], location_id: str) -> dict[str, list[bytes]]:
    """The menu's structure: every record but inventory, and items without `available`."""
    dump = {
        name: [
            bson.encode(doc) for doc in db[name].find({"location_id": location_id}).sort("_id", 1)
        ]
        for name in STRUCTURE
    }
    dump["items"] = [
        bson.encode(doc)
        for doc in db["items"].find({"location_id": location_id}, {"available": 0}).sort("_id", 1)
    ]
    return dump


def test_a_refresh_updates_stock_and_availability_and_nothing_else(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    before = structure(indexed_db, location.id)
    items = by_external_id(indexed_db, "items", location.id)

    def change(catalog: dict[str, Any]) -> None:
        product(catalog, "P1")["stock"] = 0  # was 12: sold out
        product(catalog, "P3")["stock"] = 40
        product(catalog, "P3")["price"] = "9.99"  # a structural change: not the refresh's
        product(catalog, "P7")["name"] = "Tiramisu XL"
        catalog["products"].append({**product(catalog, "P2"), "id": "P99", "stock": 3})

    edit_catalog(sim, change)

    response = api.post(f"/api/backoffice/kassanet/hendrickx/{location.id}/refresh-stock")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "products": 8,
        "items": 4,
        "inventory_updated": 2,
        "inventory_created": 0,
        "availability_changed": 1,
        "unavailable": 1,
    }
    assert structure(indexed_db, location.id) == before
    inventory = {
        doc["item_id"]: doc["quantity"]
        for doc in indexed_db["inventory"].find({"location_id": location.id})
    }
    assert inventory[str(items["P1"]["_id"])] == 0
    assert inventory[str(items["P3"]["_id"])] == 40
    after = by_external_id(indexed_db, "items", location.id)
    assert after["P1"]["available"] is False
    assert "available" not in after["P3"]  # unchanged: never flagged, available
    assert str(after["P3"]["price"]) == "3.20"
    listed = api.get(f"/api/backoffice/locations/{location.id}/items").json()["results"]
    assert {i["name"]: i["available"] for i in listed} == {
        "Cola": True,
        "Lasagne": True,
        "Spaghetti bolognese": False,
        "Tiramisu": True,
    }

    edit_catalog(sim, lambda c: product(c, "P1").update(stock=5))
    again = api.post(f"/api/backoffice/kassanet/hendrickx/{location.id}/refresh-stock").json()
    assert (again["availability_changed"], again["unavailable"]) == (1, 0)
    assert by_external_id(indexed_db, "items", location.id)["P1"]["available"] is True


def test_an_unreachable_register_changes_nothing(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    before = structure(indexed_db, location.id)
    sim.set_faults(endpoint_status={"endpoint": "GetAllProducts", "status": 401, "count": None})

    response = api.post(f"/api/backoffice/kassanet/hendrickx/{location.id}/refresh-stock")

    assert response.status_code == 502
    assert response.json()["detail"].endswith("stock is unchanged.")
    assert structure(indexed_db, location.id) == before


def test_the_beat_refreshes_due_connected_integrations_once(
    monkeypatch: pytest.MonkeyPatch,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    repo = IntegrationRepository()
    now = datetime.now(UTC)
    assert due_integrations(now) == []  # not connected yet
    repo.set_connection(integration.id, CONNECTED, "ok")
    sent: list[str] = []

    def run_now(args: tuple[str], queue: str) -> None:  # the default worker, in process
        assert queue == "default"
        sent.append(args[0])
        tasks.refresh_kassanet_stock_job(*args)

    monkeypatch.setattr(tasks.refresh_kassanet_stock_job, "apply_async", run_now)
    edit_catalog(sim, lambda c: product(c, "P1").update(stock=0))

    assert tasks.refresh_due_kassanet_stock_job() == 1
    assert tasks.refresh_due_kassanet_stock_job() == 0  # refreshed less than 5 minutes ago

    assert sent == [integration.id]
    assert by_external_id(indexed_db, "items", location.id)["P1"]["available"] is False
    repo.update_settings(integration.id, stock_refreshed_at=now - timedelta(minutes=6))
    assert [i for i, _ in due_integrations(datetime.now(UTC))] == [integration.id]
    repo.update_settings(integration.id, stock_refresh_minutes=None)  # off
    assert due_integrations(datetime.now(UTC)) == []
