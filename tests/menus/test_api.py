"""The menu read endpoints and sync-menu's answers that need no worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kombu.exceptions import OperationalError
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from integrations.services import get_service
from kassanet.testing import start_simulator
from locations.repository import Location
from tests.menus.support import connect, fixture_catalog


@pytest.fixture
def imported(location: Location) -> Iterator[Location]:
    with start_simulator(products=1, tables=0) as sim:
        sim.set_catalog(fixture_catalog())
        status = get_service("hendrickx").import_menu_now(connect(location, sim))
        assert status["status"] == "success"
        yield location


def client_for(user: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.token}")
    return client


def test_items_are_paginated_with_modifier_groups_expanded(
    imported: Location, alice: VendorUser
) -> None:
    response = client_for(alice).get(
        f"/api/backoffice/locations/{imported.id}/items", {"limit": 2, "offset": 0}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (4, 2, 0)
    assert [item["name"] for item in body["results"]] == ["Cola", "Lasagne"]
    lasagne = body["results"][1]
    assert lasagne["price"] == "16.00"
    assert lasagne["vat_rate"] == "12.00"
    assert lasagne["external_ids"] == {"hendrickx": "P2"}
    assert [g["name"] for g in lasagne["modifier_groups"]] == ["Cheese", "Side"]
    assert lasagne["modifier_groups"][0]["modifiers"][0]["price"] == "1.50"


@pytest.mark.parametrize(
    ("path", "count"),
    [("categories", 4), ("display-groups", 3), ("menus", 1), ("inventory", 4)],
)
def test_each_menu_collection_is_listed(
    imported: Location, alice: VendorUser, path: str, count: int
) -> None:
    response = client_for(alice).get(f"/api/backoffice/locations/{imported.id}/{path}")

    assert response.status_code == 200
    assert response.json()["count"] == count


def test_display_groups_are_listed_in_sort_order(imported: Location, alice: VendorUser) -> None:
    response = client_for(alice).get(f"/api/backoffice/locations/{imported.id}/display-groups")

    assert [g["name"] for g in response.json()["results"]] == ["Food", "Drinks", "Sweet"]


def test_another_vendors_location_is_not_found(imported: Location, db: Any) -> None:
    bob = ensure_vendor_user("bob", "Bob Bistros")

    response = client_for(bob).get(f"/api/backoffice/locations/{imported.id}/items")

    assert response.status_code == 404


def test_a_bad_limit_is_a_400_saying_what_to_fix(location: Location, alice: VendorUser) -> None:
    response = client_for(alice).get(f"/api/backoffice/locations/{location.id}/items", {"limit": 0})

    assert response.status_code == 400
    assert response.json() == {"limit": ["Must be between 1 and 500."]}


@pytest.mark.parametrize(
    ("provider", "detail"),
    [
        ("lightspeed", "Unknown POS provider 'lightspeed'; use one of hendrickx, vanhoutte."),
        ("vanhoutte", "This location has no Vanhoutte integration."),
    ],
)
def test_sync_menu_is_404_for_an_unknown_provider_or_integration(
    location: Location, alice: VendorUser, provider: str, detail: str
) -> None:
    response = client_for(alice).post(
        f"/api/backoffice/kassanet/{provider}/{location.id}/sync-menu"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": detail}


def test_sync_menu_is_409_while_an_import_runs(
    location: Location, alice: VendorUser, indexed_db: Database[dict[str, Any]]
) -> None:
    with start_simulator(products=1, tables=0) as sim:
        integration = connect(location, sim)
    get_service("hendrickx").integrations.claim_sync(integration.id, "running")

    response = client_for(alice).post(f"/api/backoffice/kassanet/hendrickx/{location.id}/sync-menu")

    assert response.status_code == 409
    assert "already in progress" in response.json()["detail"]


def test_sync_menu_releases_its_claim_and_answers_503_when_the_broker_is_down(
    location: Location,
    alice: VendorUser,
    indexed_db: Database[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with start_simulator(products=1, tables=0) as sim:
        integration = connect(location, sim)

    def broker_down(integration_id: str, run_id: str) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("menus.tasks.enqueue_menu_import", broker_down)
    url = f"/api/backoffice/kassanet/hendrickx/{location.id}/sync-menu"

    response = client_for(alice).post(url)

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The menu import could not be started: the task queue is unavailable "
        "(OperationalError); try again shortly."
    }
    after = get_service("hendrickx").integrations.get_by_id(integration.id)
    assert after is not None
    assert after.sync_status["status"] == "error"
    assert after.sync_status["message"] == response.json()["detail"]
    # The claim is free again: once the broker is back, the next request starts an import.
    monkeypatch.setattr("menus.tasks.enqueue_menu_import", lambda integration_id, run_id: None)
    assert client_for(alice).post(url).status_code == 202
