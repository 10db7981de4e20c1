"""Local edits of the imported menu survive re-imports; POS-owned fields are read-only."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from integrations.repository import Integration
from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from menus.edits import POS_OWNED_MESSAGE
from tests.menus.support import by_external_id, connect, edit_catalog, product


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


def reimport(integration: Integration) -> None:
    assert get_service("hendrickx").import_menu_now(integration)["status"] == "success"


def item_id(db: Database[dict[str, Any]], location: Location, key: str) -> str:
    return str(by_external_id(db, "items", location.id)[key]["_id"])


def groups(api: APIClient, location: Location) -> dict[str, list[str]]:
    body = api.get(f"/api/backoffice/locations/{location.id}/display-groups").json()
    return {g["external_ids"]["hendrickx"]: g["item_ids"] for g in body["results"]}


def test_an_items_description_and_display_order_survive_a_reimport(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    url = f"/api/backoffice/locations/{location.id}/items/{item_id(indexed_db, location, 'P1')}"

    response = api.patch(
        url, {"description": " Grandma's recipe ", "display_order": 2}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["description"], body["display_order"]) == ("Grandma's recipe", 2)
    assert [g["name"] for g in body["modifier_groups"]] == ["Cheese"]
    edit_catalog(sim, lambda c: product(c, "P1").update(name="Spaghetti bolo", price="15.00"))
    reimport(integration)
    stored = by_external_id(indexed_db, "items", location.id)["P1"]
    assert (stored["name"], str(stored["price"])) == ("Spaghetti bolo", "15.00")
    assert (stored["description"], stored["display_order"]) == ("Grandma's recipe", 2)


@pytest.mark.parametrize(
    "body",
    [
        {"price": "1.00"},
        {"name": "Cheap"},
        {"kitchen_name": "X"},
        {"plu": "1"},
        {"vat_rate": "6.00"},
        {"modifier_group_ids": []},
    ],
)
def test_a_pos_owned_field_is_refused_by_name_and_nothing_changes(
    api: APIClient,
    location: Location,
    integration: Integration,
    indexed_db: Database[dict[str, Any]],
    body: dict[str, Any],
) -> None:
    before = by_external_id(indexed_db, "items", location.id)["P1"]
    url = f"/api/backoffice/locations/{location.id}/items/{before['_id']}"

    response = api.patch(url, {**body, "description": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {name: [POS_OWNED_MESSAGE] for name in body}
    assert by_external_id(indexed_db, "items", location.id)["P1"] == before


def test_bad_local_values_and_other_vendors_items(
    api: APIClient,
    location: Location,
    integration: Integration,
    indexed_db: Database[dict[str, Any]],
) -> None:
    url = f"/api/backoffice/locations/{location.id}/items/{item_id(indexed_db, location, 'P1')}"

    negative = api.patch(url, {"display_order": -1}, format="json")
    unknown = api.patch(url, {"colour": "red"}, format="json")
    missing = api.patch(f"/api/backoffice/locations/{location.id}/items/nope", {}, format="json")
    bob = APIClient()
    bob.credentials(HTTP_AUTHORIZATION=f"Token {ensure_vendor_user('bob', 'Bob Bistros').token}")
    other = bob.patch(url, {"description": "mine"}, format="json")

    assert negative.status_code == 400 and "display_order" in negative.json()
    assert unknown.json() == {"colour": ["Unknown field; remove it."]}
    assert (missing.status_code, other.status_code) == (404, 404)
    assert by_external_id(indexed_db, "items", location.id)["P1"]["description"] == ""


def test_a_display_groups_local_order_survives_reimports(
    api: APIClient,
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    food = by_external_id(indexed_db, "display_groups", location.id)["S1"]
    p1, p2 = item_id(indexed_db, location, "P1"), item_id(indexed_db, location, "P2")
    assert food["item_ids"] == [p2, p1]  # the register's order
    url = f"/api/backoffice/locations/{location.id}/display-groups/{food['_id']}"

    response = api.patch(url, {"item_ids": [p1, p2]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["item_ids"] == [p1, p2]
    reimport(integration)
    assert groups(api, location)["S1"] == [p1, p2]

    # The register adds Cola to Food: it comes after the locally ordered items.
    edit_catalog(sim, lambda c: c["selections"][1]["product_ids"].insert(0, "P3"))
    reimport(integration)
    p3 = item_id(indexed_db, location, "P3")
    assert groups(api, location)["S1"] == [p1, p2, p3]


def test_a_reorder_must_list_each_item_of_the_group_once(
    api: APIClient,
    location: Location,
    integration: Integration,
    indexed_db: Database[dict[str, Any]],
) -> None:
    food = by_external_id(indexed_db, "display_groups", location.id)["S1"]
    p1, p3 = item_id(indexed_db, location, "P1"), item_id(indexed_db, location, "P3")
    url = f"/api/backoffice/locations/{location.id}/display-groups/{food['_id']}"

    response = api.patch(url, {"item_ids": [p1, p3]}, format="json")

    assert response.status_code == 400
    (message,) = response.json()["item_ids"]
    assert message.startswith("List each of the group's 2 item ids exactly once (missing: ")
    assert f"not in this group: {p3}" in message
    assert "item_order" not in by_external_id(indexed_db, "display_groups", location.id)["S1"]
