"""The transactions API: pricing, validation, vendor scoping, payment confirmation, listing."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import ensure_vendor_user
from integrations.credentials import Credentials
from integrations.repository import IntegrationRepository
from locations.repository import Location
from orders.repository import TransactionRepository
from tests.orders.conftest import PROVIDER, Menu, import_menu

pytestmark = pytest.mark.django_db

CATALOG = {
    "products": [
        {
            "id": "P1",
            "name": "Croque",
            "kitchen_name": "CROQUE",
            "price": "12.50",
            "modifier_groups": [
                {
                    "id": "G1",
                    "name": "Sauce",
                    "min": 0,
                    "max": 2,
                    "modifiers": [
                        {"id": "M1", "name": "Mayo", "kitchen_name": "MAYO", "price": "0.80"},
                        {"id": "M2", "name": "Ketchup", "kitchen_name": "KETCHUP", "price": "0.00"},
                    ],
                }
            ],
        },
        {
            "id": "P2",
            "name": "Cola",
            "kitchen_name": "COLA",
            "price": "3.20",
            "modifier_groups": [],
        },
    ]
}


@pytest.fixture
def shop_menu(indexed_db: Database[dict[str, Any]], location: Location) -> Menu:
    return import_menu(indexed_db, location.id, CATALOG)


def create(api: APIClient, location: Location, body: dict[str, Any]) -> Any:
    return api.post(f"/api/backoffice/locations/{location.id}/transactions", body, format="json")


def kiosk_order(api: APIClient, location: Location, menu: Menu) -> dict[str, Any]:
    response = create(
        api,
        location,
        {
            "channel": "kiosk",
            "service_type": "eat_in",
            "lines": [
                {
                    "item_id": menu.items["P1"],
                    "quantity": 2,
                    "modifiers": [{"modifier_id": menu.modifiers["M1"], "quantity": 1}],
                    "note": "no salt",
                },
                {"item_id": menu.items["P2"], "quantity": 3},
            ],
        },
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def confirm(
    api: APIClient, txn_id: str, amount: str, reference: str = "pi_1", currency: str = "EUR"
) -> Any:
    return api.post(
        f"/api/backoffice/transactions/{txn_id}/payment-confirmed",
        {
            "amount": amount,
            "currency": currency,
            "payment_provider": "stripe",
            "payment_reference": reference,
        },
        format="json",
    )


def test_an_order_is_priced_exactly_from_the_current_menu(
    api: APIClient, location: Location, shop_menu: Menu
) -> None:
    body = kiosk_order(api, location, shop_menu)

    # A modifier's quantity is per unit of its line: 2 x (12.50 + 1 x 0.80) + 3 x 3.20
    assert (body["total"], body["status"], body["currency"]) == ("36.20", "pending", "EUR")
    assert body["service_type"] == "eat_in"
    assert [(line["unit_price"], line["total"]) for line in body["lines"]] == [
        ("12.50", "26.60"),
        ("3.20", "9.60"),
    ]
    assert body["lines"][0]["modifiers"] == [
        {
            "modifier_id": shop_menu.modifiers["M1"],
            "name": "Mayo",
            "quantity": 1,
            "unit_price": "0.80",
        }
    ]
    assert (body["pos_provider"], body["external_data"]) == (None, {})


def test_bad_lines_are_refused_naming_each_line(
    api: APIClient, location: Location, shop_menu: Menu
) -> None:
    response = create(
        api,
        location,
        {
            "channel": "online",
            "lines": [
                {"item_id": shop_menu.items["P1"], "quantity": 1},
                {"item_id": "000000000000000000000000", "quantity": 1},
                {
                    "item_id": shop_menu.items["P2"],
                    "quantity": 1,
                    "modifiers": [{"modifier_id": shop_menu.modifiers["M1"]}],
                },
                {"item_id": shop_menu.items["P2"], "quantity": 0},
            ],
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "lines": {"3": {"quantity": ["Ensure this value is greater than or equal to 1."]}}
    }

    response = create(
        api,
        location,
        {
            "channel": "online",
            "lines": [
                {"item_id": shop_menu.items["P1"], "quantity": 1},
                {"item_id": "000000000000000000000000", "quantity": 1},
                {
                    "item_id": shop_menu.items["P2"],
                    "quantity": 1,
                    "modifiers": [{"modifier_id": shop_menu.modifiers["M1"]}],
                },
            ],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "lines": {
            "1": {"item_id": ["Unknown item '000000000000000000000000' for this location."]},
            "2": {
                "modifiers": [
                    f"Modifier '{shop_menu.modifiers['M1']}' is not in a modifier group of item 'Cola'."
                ]
            },
        }
    }
    assert (
        TransactionRepository()
        .list_for_location(location.id, pos_status=None, offset=0, limit=5)
        .count
        == 0
    )


def test_a_table_qr_order_needs_its_table(
    api: APIClient, location: Location, shop_menu: Menu
) -> None:
    response = create(
        api,
        location,
        {"channel": "table_qr", "lines": [{"item_id": shop_menu.items["P2"], "quantity": 1}]},
    )

    assert response.status_code == 400
    assert response.json() == {
        "table_number": ["A table_qr order needs the table_number it is for."]
    }


def test_another_vendors_location_and_transactions_are_not_found(
    api: APIClient, location: Location, shop_menu: Menu
) -> None:
    txn = kiosk_order(api, location, shop_menu)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {ensure_vendor_user('bob').token}")

    assert create(other, location, {"channel": "kiosk", "lines": []}).status_code == 404
    assert other.get(f"/api/backoffice/transactions/{txn['id']}").status_code == 404
    assert other.post(f"/api/backoffice/transactions/{txn['id']}/retry-pos").status_code == 404
    assert other.get(f"/api/backoffice/locations/{location.id}/transactions").status_code == 404


def test_a_payment_must_match_the_total_and_the_currency_exactly(
    api: APIClient, payments_api: APIClient, location: Location, shop_menu: Menu
) -> None:
    txn = kiosk_order(api, location, shop_menu)

    assert confirm(payments_api, txn["id"], "35.39").json() == {
        "amount": ["The amount 35.39 is not the order's total 36.20; it must be equal."]
    }
    assert confirm(payments_api, txn["id"], "36.20", currency="USD").json() == {
        "currency": ["The currency USD is not the order's currency EUR; it must be equal."]
    }
    response = payments_api.post(
        f"/api/backoffice/transactions/{txn['id']}/payment-confirmed",
        {
            "amount": 35.4,
            "currency": "EUR",
            "payment_provider": "stripe",
            "payment_reference": "pi_1",
        },
        format="json",
    )
    assert response.status_code == 400
    assert api.get(f"/api/backoffice/transactions/{txn['id']}").json()["status"] == "pending"


def test_without_an_integration_the_paid_order_says_why_it_was_not_pushed_and_repeats_are_idempotent(
    api: APIClient, payments_api: APIClient, location: Location, shop_menu: Menu
) -> None:
    txn = kiosk_order(api, location, shop_menu)

    first = confirm(payments_api, txn["id"], "36.20")
    repeat = confirm(payments_api, txn["id"], "36.20")
    conflict = confirm(payments_api, txn["id"], "36.20", reference="pi_2")

    assert first.status_code == repeat.status_code == 200
    assert first.json() == repeat.json()
    assert first.json()["status"] == "paid"
    assert first.json()["pos_message"].startswith("No Hendrickx or Vanhoutte integration")
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": "The order is already paid (stripe pi_1)."}


def test_an_order_paid_while_the_register_is_disconnected_is_kept_for_requeue(
    api: APIClient, payments_api: APIClient, location: Location, shop_menu: Menu
) -> None:
    IntegrationRepository().upsert(  # never tested: disconnected
        location.id,
        PROVIDER,
        Credentials("http://127.0.0.1:9/kassanet/", "k" * 16, "t" * 16, True),
        {},
    )
    txn = kiosk_order(api, location, shop_menu)

    body = confirm(payments_api, txn["id"], "36.20").json()

    push = body["external_data"][PROVIDER]
    assert (body["need_requeue"], body["pos_provider"], push["status"]) == (
        True,
        PROVIDER,
        "need_requeue",
    )
    assert [h["to"] for h in push["history"]] == ["queued", "need_requeue"]
    listed = api.get(
        f"/api/backoffice/locations/{location.id}/transactions?pos_status=need_requeue"
    )
    assert [t["id"] for t in listed.json()["results"]] == [txn["id"]]
    retry = api.post(f"/api/backoffice/transactions/{txn['id']}/retry-pos")
    assert retry.status_code == 409
    assert retry.json() == {
        "detail": "Only a failed push can be retried; this one is need_requeue."
    }


def test_the_list_is_paginated_newest_first(
    api: APIClient, location: Location, shop_menu: Menu
) -> None:
    ids = [kiosk_order(api, location, shop_menu)["id"] for _ in range(3)]

    page1 = api.get(f"/api/backoffice/locations/{location.id}/transactions?page_size=2").json()
    page2 = api.get(
        f"/api/backoffice/locations/{location.id}/transactions?page_size=2&page=2"
    ).json()
    bad = api.get(f"/api/backoffice/locations/{location.id}/transactions?pos_status=lost")

    assert (page1["count"], page1["page"], page1["page_size"]) == (3, 1, 2)
    assert [t["id"] for t in page1["results"] + page2["results"]] == ids[::-1]
    assert bad.status_code == 400
    assert list(bad.json()) == ["pos_status"]
