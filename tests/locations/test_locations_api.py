from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from accounts.services import VendorUser
from locations.repository import LocationRepository
from tests.integrations.conftest import RecordingClient

BODY = {"name": "Brasserie", "timezone": "Europe/Brussels", "currency": "EUR"}
NOT_CONFIGURED = {"status": "not_configured", "message": "", "updated_at": None}


def test_create_answers_201_with_the_location(api: RecordingClient, indexed_db: Any) -> None:
    response = api.post("/api/backoffice/locations", BODY, format="json")

    assert response.status_code == 201
    body = response.json()
    assert ObjectId.is_valid(body["id"])
    assert {k: body[k] for k in BODY} == BODY
    assert body["pos_connection"] == {"hendrickx": NOT_CONFIGURED, "vanhoutte": NOT_CONFIGURED}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"timezone": "Europe/Gent"},
            {"timezone": ["Unknown timezone; use an IANA name such as Europe/Brussels."]},
        ),
        ({"currency": "EURO"}, {"currency": ['"EURO" is not a valid choice.']}),
        ({"currency": "eur"}, {"currency": ['"eur" is not a valid choice.']}),
        ({"name": "  "}, {"name": ["This field may not be blank."]}),
        ({"owner": "x"}, {"owner": ["Unknown field; remove it."]}),
    ],
)
def test_create_refuses_invalid_input(
    api: RecordingClient, indexed_db: Any, changes: dict[str, Any], errors: dict[str, Any]
) -> None:
    response = api.post("/api/backoffice/locations/", BODY | changes, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert indexed_db["locations"].count_documents({}) == 0


def test_list_shows_only_the_callers_locations(
    api: RecordingClient, other_api: RecordingClient, bob: VendorUser, indexed_db: Any
) -> None:
    mine = api.post("/api/backoffice/locations", BODY, format="json").json()
    LocationRepository().create(
        vendor_id=str(bob.vendor.pk), name="Bob's", timezone="UTC", currency="USD"
    )

    response = api.get("/api/backoffice/locations")

    assert response.status_code == 200
    assert [loc["id"] for loc in response.json()] == [mine["id"]]
    assert [loc["name"] for loc in other_api.get("/api/backoffice/locations/").json()] == ["Bob's"]


def test_detail_shows_the_pos_connection_per_provider(
    api: RecordingClient, indexed_db: Any
) -> None:
    created = api.post("/api/backoffice/locations", BODY, format="json").json()
    LocationRepository().set_pos_connection(created["id"], "vanhoutte", "connected", "ok")

    body = api.get(f"/api/backoffice/locations/{created['id']}").json()

    assert body["pos_connection"]["hendrickx"] == NOT_CONFIGURED
    assert body["pos_connection"]["vanhoutte"]["status"] == "connected"
    assert body["pos_connection"]["vanhoutte"]["message"] == "ok"


def test_another_vendors_location_is_404_like_a_missing_one(
    api: RecordingClient, other_api: RecordingClient, indexed_db: Any
) -> None:
    created = api.post("/api/backoffice/locations", BODY, format="json").json()

    theirs = other_api.get(f"/api/backoffice/locations/{created['id']}")
    missing = other_api.get(f"/api/backoffice/locations/{ObjectId()}/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content == b'{"detail":"Location not found."}'


@pytest.mark.parametrize(
    "path", ["/api/backoffice/locations", "/api/backoffice/locations/65f0000000000000000000aa"]
)
def test_locations_require_authentication(path: str, indexed_db: Any) -> None:
    assert RecordingClient().get(path).status_code == 401
    assert RecordingClient().post(path, BODY, format="json").status_code == 401
