"""The table-section API: vendor scoping, hand-made sections, protected ones, downloads."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from drf_spectacular.generators import SchemaGenerator
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.roles import ADMIN
from accounts.services import ensure_vendor_user, issue_token
from locations.repository import Location, LocationRepository
from tables import services

pytestmark = pytest.mark.django_db

URL = "https://order.test/l/{location_id}/t/{table_number}"


@pytest.fixture(autouse=True)
def ordering_url(settings: Any) -> None:
    settings.TABLE_ORDERING_URL = URL


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]]) -> Location:
    vendor = ensure_vendor_user("owner").vendor
    return LocationRepository().create(
        vendor_id=str(vendor.pk),
        name="Brasserie Centraal",
        timezone="Europe/Brussels",
        currency="EUR",
    )


@pytest.fixture
def client(location: Location) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ensure_vendor_user('owner').token}")
    return api


def sections_url(location_id: str, suffix: str = "") -> str:
    return f"/api/backoffice/locations/{location_id}/table-sections{suffix}"


def test_list_shows_sections_with_each_tables_qr_url(client: APIClient, location: Location) -> None:
    synced = services.sync_table_section(location.id, "hendrickx", "Hendrickx", [(1, "Bar"), 2])

    response = client.get(sections_url(location.id))

    assert response.status_code == 200
    [section] = response.json()
    assert section["id"] == synced["section_id"]
    assert {key: section[key] for key in ("location_id", "name", "imported_by", "protected")} == {
        "location_id": location.id,
        "name": "Hendrickx tables",
        "imported_by": "hendrickx",
        "protected": True,
    }
    assert section["tables"] == [
        {"number": 1, "name": "Bar", "qr_url": f"https://order.test/l/{location.id}/t/1"},
        {"number": 2, "name": "2", "qr_url": f"https://order.test/l/{location.id}/t/2"},
    ]


def test_create_a_hand_made_section_then_read_it(client: APIClient, location: Location) -> None:
    created = client.post(
        sections_url(location.id), {"name": "Terrace", "tables": [21, 20]}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["imported_by"], body["protected"]) == ("Terrace", None, False)
    assert [table["number"] for table in body["tables"]] == [20, 21]
    detail = client.get(sections_url(location.id, f"/{body['id']}"))
    assert detail.status_code == 200
    assert detail.json() == body


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (
            {"name": "Terrace", "tables": [1, 2, 1]},
            {"tables": ["Each table number may appear once; repeated: 1."]},
        ),
        (
            {"name": "Terrace", "tables": []},
            {"tables": ["Ensure this field has at least 1 elements."]},
        ),
        (
            {"name": "Terrace", "tables": [0]},
            {"tables": {"0": ["Ensure this value is greater than or equal to 1."]}},
        ),
        ({"tables": [1]}, {"name": ["This field is required."]}),
        (
            {"name": "Terrace", "tables": [1], "protected": True},
            {"protected": ["Unknown field; remove it."]},
        ),
    ],
)
def test_create_refuses_bad_input_saying_what_to_fix(
    client: APIClient,
    location: Location,
    indexed_db: Database[dict[str, Any]],
    payload: dict[str, Any],
    errors: dict[str, Any],
) -> None:
    response = client.post(sections_url(location.id), payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert indexed_db.table_sections.count_documents({}) == 0


def test_delete_removes_a_hand_made_section(
    client: APIClient, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    section = services.create_section(location.id, "Terrace", [1])

    response = client.delete(sections_url(location.id, f"/{section.id}"))

    assert response.status_code == 204
    assert indexed_db.table_sections.count_documents({}) == 0
    assert client.delete(sections_url(location.id, f"/{section.id}")).status_code == 404


def test_delete_refuses_the_integrations_section(
    client: APIClient, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    synced = services.sync_table_section(location.id, "vanhoutte", "Vanhoutte", [1])

    response = client.delete(sections_url(location.id, f"/{synced['section_id']}"))

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This section is managed by the Vanhoutte integration; "
        "disconnect the integration to remove it."
    }
    assert indexed_db.table_sections.count_documents({}) == 1


def test_qr_zip_downloads_one_svg_per_table(client: APIClient, location: Location) -> None:
    section = services.create_section(location.id, "Terrace", [3, 4])

    response = client.get(sections_url(location.id, f"/{section.id}/qr.zip"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="table-qr-codes-{section.id}.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["table-3.svg", "table-4.svg"]


def test_qr_pdf_downloads_even_when_the_client_accepts_only_pdf(
    client: APIClient, location: Location
) -> None:
    section = services.create_section(location.id, "Terrace", list(range(1, 8)))

    response = client.get(
        sections_url(location.id, f"/{section.id}/qr.pdf"), HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="table-qr-codes-{section.id}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    assert response.content.count(b"/Type /Page\n") == 2


def test_a_missing_download_answers_json_404_whatever_the_accept_header(
    client: APIClient, location: Location
) -> None:
    response = client.get(
        sections_url(location.id, "/65f0000000000000000000ff/qr.pdf"),
        HTTP_ACCEPT="application/pdf",
    )

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Table section 65f0000000000000000000ff does not exist at this location."
    }


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "/{section}"),
        ("delete", "/{section}"),
        ("get", "/{section}/qr.zip"),
        ("get", "/{section}/qr.pdf"),
    ],
)
def test_another_vendors_location_is_not_found(
    location: Location, indexed_db: Database[dict[str, Any]], method: str, suffix: str
) -> None:
    section = services.create_section(location.id, "Terrace", [1])
    intruder = APIClient()
    intruder.credentials(HTTP_AUTHORIZATION=f"Token {ensure_vendor_user('intruder').token}")

    response = getattr(intruder, method)(
        sections_url(location.id, suffix.format(section=section.id)),
        {"name": "Mine", "tables": [1]},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Location not found."}
    assert indexed_db.table_sections.count_documents({}) == 1


def test_a_section_is_only_reachable_through_its_own_location(
    client: APIClient, location: Location
) -> None:
    sibling = LocationRepository().create(
        vendor_id=location.vendor_id,
        name="Second site",
        timezone="Europe/Brussels",
        currency="EUR",
    )
    section = services.create_section(sibling.id, "Terrace", [1])

    for suffix in ("", "/qr.zip", "/qr.pdf"):
        response = client.get(sections_url(location.id, f"/{section.id}{suffix}"))
        assert response.status_code == 404, suffix


@pytest.mark.parametrize("suffix", ["", "/65f0000000000000000000aa/qr.pdf"])
def test_anonymous_requests_are_refused(location: Location, suffix: str) -> None:
    response = APIClient().get(sections_url(location.id, suffix))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_user_without_a_vendor_is_forbidden(location: Location) -> None:
    loner = get_user_model().objects.create(username="loner")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(loner, ADMIN)[1]}")

    assert api.get(sections_url(location.id)).status_code == 403


def test_openapi_declares_the_binary_downloads() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)

    base = "/api/backoffice/locations/{location_id}/table-sections/{section_id}"
    for suffix, media_type in (("/qr.zip", "application/zip"), ("/qr.pdf", "application/pdf")):
        content = schema["paths"][base + suffix]["get"]["responses"]["200"]["content"]
        assert content == {media_type: {"schema": {"type": "string", "format": "binary"}}}
    delete = schema["paths"][base]["delete"]["responses"]
    assert set(delete) == {"204", "401", "403", "404", "409"}
