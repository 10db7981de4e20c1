"""Each endpoint states its roles: a token without one of them gets 403 (docs/security.md)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.roles import ADMIN, CHANNEL, PAYMENTS, SUPPORT
from accounts.services import ensure_vendor_user
from locations.repository import Location, LocationRepository
from tests.tokens import service_client, vendor_client

pytestmark = pytest.mark.django_db

SIGNATURE_KEY = "role-test-signature-key-1234"
ENCRYPTION_TOKEN = "role-test-encryption-token-5678"
NO_ORDER = "65f0000000000000000000aa"


@pytest.fixture
def clients(db: Any) -> dict[str, APIClient]:
    admin, _ = vendor_client("gent-admin", "Gent Foods", ADMIN)
    channel, _ = vendor_client("gent-kiosk", "Gent Foods", CHANNEL)
    return {
        ADMIN: admin,
        CHANNEL: channel,
        SUPPORT: service_client(SUPPORT),
        PAYMENTS: service_client(PAYMENTS),
    }


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], clients: Any) -> Location:
    vendor = ensure_vendor_user("gent-admin").vendor
    return LocationRepository().create(
        vendor_id=str(vendor.pk), name="Gent", timezone="Europe/Brussels", currency="EUR"
    )


@pytest.fixture
def connected(clients: dict[str, APIClient], location: Location) -> Location:
    response = clients[ADMIN].post(
        f"/api/backoffice/kassanet/hendrickx/{location.id}",
        {
            "base_url": "https://127.0.0.1:9/kassanet/",
            "signature_key": SIGNATURE_KEY,
            "encryption_token": ENCRYPTION_TOKEN,
            "enable_encryption": True,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return location


# (method, path, body, {role: expected status}); every role not listed gets 403.
CASES: list[tuple[str, str, Any, dict[str, int]]] = [
    ("get", "locations", None, {ADMIN: 200, CHANNEL: 200, SUPPORT: 200}),
    ("get", "locations/{loc}", None, {ADMIN: 200, CHANNEL: 200, SUPPORT: 200}),
    (
        "post",
        "locations",
        {"name": "Brugge", "timezone": "Europe/Brussels", "currency": "EUR"},
        {ADMIN: 201},
    ),
    ("get", "kassanet/hendrickx/{loc}", None, {ADMIN: 200, CHANNEL: 200, SUPPORT: 200}),
    ("post", "kassanet/hendrickx/{loc}", {"sync_time": None}, {ADMIN: 200}),
    ("post", "kassanet/hendrickx/{loc}/sync-menu", None, {}),  # admin: see below
    ("get", "locations/{loc}/items", None, {ADMIN: 200, CHANNEL: 200, SUPPORT: 200}),
    ("get", "locations/{loc}/table-sections", None, {ADMIN: 200, SUPPORT: 200}),
    ("post", "locations/{loc}/table-sections", {"name": "Terras", "tables": [1]}, {}),
    (
        "post",
        "locations/{loc}/transactions",
        {"channel": "kiosk", "lines": []},
        {ADMIN: 400, CHANNEL: 400},
    ),
    ("get", "locations/{loc}/transactions", None, {ADMIN: 200, SUPPORT: 200}),
    ("get", f"transactions/{NO_ORDER}", None, {ADMIN: 404, CHANNEL: 404, SUPPORT: 404}),
    ("post", f"transactions/{NO_ORDER}/retry-pos", None, {ADMIN: 404, SUPPORT: 404}),
    (
        "post",
        f"transactions/{NO_ORDER}/payment-confirmed",
        {"amount": "1.00", "currency": "EUR", "payment_provider": "s", "payment_reference": "r"},
        {PAYMENTS: 404},
    ),
    # Menu runs and versions (issue 13): admin and support read; only admin acts.
    ("get", "kassanet/hendrickx/{loc}/imports", None, {ADMIN: 200, SUPPORT: 200}),
    ("get", "kassanet/hendrickx/{loc}/menu-versions", None, {ADMIN: 200, SUPPORT: 200}),
    (
        "post",
        f"kassanet/hendrickx/{{loc}}/imports/{NO_ORDER}/discard",
        None,
        {ADMIN: 404},
    ),
    # Readiness (issue 15): what a kiosk polls.
    ("get", "locations/{loc}/readiness", None, {ADMIN: 200, CHANNEL: 200, SUPPORT: 200}),
    ("get", "incidents", None, {ADMIN: 200}),
    ("get", "notification-channels", None, {ADMIN: 200}),
    ("delete", "kassanet/hendrickx/{loc}", None, {ADMIN: 204}),
]


def test_the_support_api_is_for_support_tokens_only(
    clients: dict[str, APIClient], connected: Location
) -> None:
    answers = {
        role: client.get("/api/support/locations").status_code for role, client in clients.items()
    }
    assert answers == {ADMIN: 403, CHANNEL: 403, SUPPORT: 200, PAYMENTS: 403}
    diagnosis = clients[SUPPORT].get(f"/api/support/locations/{connected.id}")
    assert diagnosis.status_code == 200
    assert SIGNATURE_KEY not in diagnosis.content.decode()


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES]
)
def test_each_role_gets_its_answer_and_others_403(
    clients: dict[str, APIClient],
    connected: Location,
    method: str,
    path: str,
    body: Any,
    allowed: dict[str, int],
) -> None:
    url = "/api/backoffice/" + path.format(loc=connected.id)
    answers = {}
    for role in (CHANNEL, SUPPORT, PAYMENTS, ADMIN):  # admin last: it may delete
        call = getattr(clients[role], method)
        response = call(url, body, format="json") if body is not None else call(url)
        answers[role] = response.status_code
        if response.status_code == 403:
            assert response.json()["detail"].startswith("This needs a token with the role ")
    expected = {role: allowed.get(role, 403) for role in answers}
    if path.endswith(("sync-menu", "table-sections")) and method == "post":
        assert answers[ADMIN] != 403  # admin may (the outcome is another test's business)
        expected[ADMIN] = answers[ADMIN]
    assert answers == expected


def test_support_reads_every_vendor_but_never_a_secret(
    clients: dict[str, APIClient], connected: Location
) -> None:
    other = ensure_vendor_user("brugge-admin", "Brugge Bistros").vendor
    theirs = LocationRepository().create(
        vendor_id=str(other.pk), name="Brugge", timezone="Europe/Brussels", currency="EUR"
    )
    support = clients[SUPPORT]

    listed = support.get("/api/backoffice/locations").json()
    integration = support.get(f"/api/backoffice/kassanet/hendrickx/{connected.id}")

    assert sorted(loc["id"] for loc in listed) == sorted([connected.id, theirs.id])
    assert support.get(f"/api/backoffice/locations/{theirs.id}").status_code == 200
    assert integration.json()["credentials"]["signature_key"] == "••••1234"
    assert SIGNATURE_KEY not in integration.content.decode()
    assert ENCRYPTION_TOKEN not in integration.content.decode()
    # A vendor's own tokens still see only their vendor.
    assert clients[ADMIN].get(f"/api/backoffice/locations/{theirs.id}").status_code == 404
    assert clients[CHANNEL].get(f"/api/backoffice/locations/{theirs.id}").status_code == 404


def test_the_openapi_schema_states_the_security_and_roles_of_every_operation(db: Any) -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (method.upper(), path): op
        for path, item in schema["paths"].items()
        for method, op in item.items()
    }

    for (method, path), op in operations.items():
        if path.startswith("/api/webhooks/"):
            assert op["security"] == [], path
            continue
        assert op["x-roles"], (method, path)
        assert f"Roles: {', '.join(op['x-roles'])}" in op["description"]
        assert {"knoxApiToken": []} in op["security"], (method, path)
    confirm = operations[
        ("POST", "/api/backoffice/transactions/{transaction_id}/payment-confirmed")
    ]
    assert (confirm["x-roles"], confirm["security"]) == (["payments"], [{"knoxApiToken": []}])
    assert operations[("POST", "/api/backoffice/kassanet/{provider}/{location_id}")]["x-roles"] == [
        "admin"
    ]
