"""The support view: every location of every vendor, sorted by trouble, and a location's
diagnosis; only for support (a support token, or Django staff), never with a secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

import kassanet
from accounts.roles import SUPPORT
from accounts.services import VendorUser, create_service_token
from incidents import kinds
from integrations.repository import DISCONNECTED, Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle
from locations.repository import Location, LocationRepository
from orders.push import OrderPusher
from orders.states import PushStatus
from tests.orders.conftest import Menu, connect_integration, fast_config
from tests.orders.helpers import paid_order

ALL = frozenset(PushStatus) - {PushStatus.PAID, PushStatus.FAILED, PushStatus.NEED_REQUEUE}


@pytest.fixture
def staff(db: Any) -> Any:
    user = get_user_model().objects.create_user("sam", password="a-long-test-password")
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def support_api(db: Any) -> APIClient:
    """The platform's support service token (a staff member's page session also works)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_service_token(SUPPORT).token}")
    return client


@pytest.fixture
def fleet(
    location: Location,
    integration: Integration,
    menu: Menu,
    simulator: SimulatorHandle,
    other_user: VendorUser,
) -> dict[str, Location]:
    """Gent (Alice's): a failed order and a disconnected register; Brugge (Bob's): fine;
    Antwerpen (Alice's): no register."""
    simulator.set_faults(
        endpoint_status={
            "endpoint": "SendOrder",
            "status": 422,
            "code": "AMOUNT_MISMATCH",
            "count": None,
        }
    )
    txn = paid_order(location, integration, menu, datetime.now(UTC), products=[("P1", 1, ())])
    pusher = OrderPusher(config=fast_config(), jitter=kassanet.no_jitter)
    assert pusher.advance(txn.id, ALL).status is PushStatus.FAILED
    IntegrationRepository().set_connection(integration.id, DISCONNECTED, "Disconnected: refused")
    brugge = LocationRepository().create(
        vendor_id=str(other_user.vendor.pk),
        name="Brugge",
        timezone="Europe/Brussels",
        currency="EUR",
    )
    connect_integration(brugge, simulator)
    antwerpen = LocationRepository().create(
        vendor_id=location.vendor_id, name="Antwerpen", timezone="Europe/Brussels", currency="EUR"
    )
    return {"gent": location, "brugge": brugge, "antwerpen": antwerpen}


def test_the_fleet_is_sorted_by_trouble_and_filterable(
    support_api: APIClient, fleet: dict[str, Location]
) -> None:
    rows = support_api.get("/api/support/locations").json()
    assert [r["location_name"] for r in rows] == ["Gent", "Antwerpen", "Brugge"]
    gent = rows[0]
    assert (gent["vendor_name"], gent["failed_orders"], gent["open_incidents"]) == (
        "Alice's",
        1,
        1,
    )
    assert gent["incident_kinds"] == [kinds.ORDER_FAILED]
    assert gent["providers"][0]["connection_status"] == "disconnected"
    assert gent["oldest_failed_age_seconds"] >= 0
    # 1000 (disconnected) + 100 (one incident) + 10 (one failed order)
    assert gent["trouble"] == 1110
    assert [r["trouble"] for r in rows[1:]] == [0, 0]

    def names(query: str) -> list[str]:
        return [
            r["location_name"] for r in support_api.get(f"/api/support/locations?{query}").json()
        ]

    assert names("sort=name") == ["Antwerpen", "Brugge", "Gent"]
    assert names("trouble=true") == ["Gent"]
    assert names("q=bob") == ["Brugge"]
    assert names("q=ANTW") == ["Antwerpen"]
    assert names("connection=connected") == ["Brugge"]
    assert names("provider=vanhoutte") == []
    assert support_api.get("/api/support/locations?sort=chaos").status_code == 400


def test_the_diagnosis_runs_the_checklist_without_secrets(
    support_api: APIClient, fleet: dict[str, Location], simulator: SimulatorHandle
) -> None:
    gent = fleet["gent"]
    answer = support_api.get(f"/api/support/locations/{gent.id}")
    assert answer.status_code == 200
    body = answer.json()
    steps = {c["step"]: c for c in body["checklist"]}
    assert list(steps) == ["provider", "connection", "last_sync", "failing_orders", "missing_items"]
    assert (steps["provider"]["ok"], steps["provider"]["detail"]) == (True, "hendrickx")
    assert steps["connection"]["ok"] is False
    assert steps["connection"]["detail"] == "hendrickx: Disconnected: refused"
    assert steps["failing_orders"]["ok"] is False
    (order,) = body["failing_orders"]
    assert order["errCode"] == "AMOUNT_MISMATCH"
    assert "HTTP 422" in order["errMessage"]
    assert body["integrations"][0]["base_url"] == simulator.base_url
    assert [i["kind"] for i in body["open_incidents"]] == [kinds.ORDER_FAILED]
    text = answer.content.decode()
    assert simulator.signature_key not in text and simulator.encryption_token not in text
    assert "secrets" not in text
    assert support_api.get("/api/support/locations/6b0f00000000000000000000").status_code == 404

    test = support_api.post(f"/api/support/locations/{gent.id}/connection-test/hendrickx")
    assert test.json()["connected"] is True
    assert support_api.get(f"/api/support/locations/{gent.id}").json()["checklist"][1]["ok"]


def test_vendors_get_403(
    api: APIClient, vendor_user: VendorUser, fleet: dict[str, Location]
) -> None:
    for path in (
        "/api/support/locations",
        f"/api/support/locations/{fleet['gent'].id}",
    ):
        answer = api.get(path)
        assert answer.status_code == 403
        assert answer.json() == {"detail": "Only support staff may see the whole fleet."}
    assert (
        api.post(f"/api/support/locations/{fleet['gent'].id}/connection-test/hendrickx").status_code
        == 403
    )
    assert APIClient().get("/api/support/locations").status_code == 401
    page = Client()
    page.force_login(vendor_user.user)
    assert page.get("/support").status_code == 403
    assert Client().get("/support").status_code == 302  # to the login page


def test_the_pages_show_the_fleet_and_a_diagnosis(
    staff: Any, fleet: dict[str, Location], simulator: SimulatorHandle
) -> None:
    page = Client()
    page.force_login(staff)
    html = page.get("/support?trouble=true").content.decode()
    assert "Gent" in html and "Brugge" not in html
    diagnosis = page.get(f"/support/locations/{fleet['gent'].id}").content.decode()
    assert "AMOUNT_MISMATCH" in diagnosis and "Disconnected: refused" in diagnosis
    for html_text in (html, diagnosis):
        assert simulator.signature_key not in html_text
        assert simulator.encryption_token not in html_text
    assert page.get("/support/locations/nope").status_code == 404
