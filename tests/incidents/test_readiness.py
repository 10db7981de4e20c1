"""Readiness: what kiosks and the webshop poll to pause ordering (real MongoDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rest_framework.test import APIClient

from accounts.services import VendorUser
from incidents.readiness import readiness
from integrations.repository import CONNECTED, DISCONNECTED, Integration, IntegrationRepository
from locations.repository import Location
from orders import services
from tests.orders.conftest import Menu

READY = {"kiosk": True, "online": True, "table_qr": True}
PAUSED = {"kiosk": False, "online": False, "table_qr": False}


def url(location: Location) -> str:
    return f"/api/backoffice/locations/{location.id}/readiness"


def test_a_connected_location_with_a_menu_takes_orders(
    api: APIClient, location: Location, integration: Integration, menu: Menu
) -> None:
    assert api.get(url(location)).json() == {
        "accepting_orders": True,
        "channels": READY,
        "reasons": [],
    }


def test_a_new_location_says_why_it_does_not_take_orders(
    api: APIClient, location: Location
) -> None:
    assert api.get(url(location)).json() == {
        "accepting_orders": False,
        "channels": PAUSED,
        "reasons": [
            "No register is set up for this location.",
            "There is no menu yet: sync the menu from the register.",
        ],
    }


def test_a_disconnection_pauses_ordering_only_after_the_grace_period(
    location: Location, integration: Integration, menu: Menu, settings: Any
) -> None:
    settings.READINESS_DISCONNECTED_GRACE_MINUTES = 2
    IntegrationRepository().set_connection(integration.id, DISCONNECTED, "Disconnected")
    now = datetime.now(UTC)
    early = readiness(location.id, location.vendor_id, now=now + timedelta(seconds=90))
    assert early is not None and early.accepting_orders
    late = readiness(location.id, location.vendor_id, now=now + timedelta(minutes=3))
    assert late is not None
    assert late.as_dict() == {
        "accepting_orders": False,
        "channels": PAUSED,
        "reasons": [
            "The register has been disconnected for 3 min; orders would not reach the kitchen."
        ],
    }
    IntegrationRepository().set_connection(integration.id, CONNECTED, "Connected")
    back = readiness(location.id, location.vendor_id, now=now + timedelta(minutes=4))
    assert back is not None and back.accepting_orders


def test_too_many_waiting_orders_pause_ordering(
    location: Location, integration: Integration, menu: Menu, settings: Any
) -> None:
    settings.READINESS_MAX_WAITING_ORDERS = 2
    settings.READINESS_DISCONNECTED_GRACE_MINUTES = 60
    IntegrationRepository().set_connection(integration.id, DISCONNECTED, "Disconnected")

    def held_order() -> None:
        txn = services.create_transaction(
            location,
            channel="kiosk",
            service_type="takeaway",
            table_number=None,
            lines=[services.LineRequest(menu.items["P1"], 1, [])],
        )
        services.confirm_payment(
            txn,
            amount=txn.total,
            currency=txn.currency,
            payment_provider="stripe",
            payment_reference=f"pi_{txn.id}",
        )

    for expected in (True, True, False):
        held_order()
        result = readiness(location.id, location.vendor_id)
        assert result is not None and result.accepting_orders is expected
    assert result is not None
    assert result.reasons == [
        "More than 2 orders are waiting for the register; new orders would wait too."
    ]


def test_another_vendors_location_is_not_found(location: Location, other_user: VendorUser) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {other_user.token}")
    assert client.get(url(location)).json() == {"detail": "Location not found."}
    assert client.get(url(location)).status_code == 404
    assert client.get("/api/backoffice/locations/nope/readiness").status_code == 404
    assert readiness(location.id, str(other_user.vendor.pk)) is None
