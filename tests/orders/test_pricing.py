"""Pricing per unit, modifier-group rules and service types, with hand-computed expectations.

The protocol page (section 6, Line): a modifier's quantity is per unit of its line, and a line
is worth `quantity x (unit_price + sum(modifier.unit_price x modifier.quantity))`. Every total
below was worked out by hand from the menu, not by the code under test.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

import kassanet
from locations.repository import Location
from orders.pricing import LineRequest, MenuPricer, ModifierRequest
from orders.services import ServiceTypeError, service_type_for
from tests.orders.conftest import Menu, import_menu

# The menu of the interop report: Croque 12.50 with sauces, Cola 2.87 with a size.
CATALOG: dict[str, Any] = {
    "products": [
        {
            "id": "P1",
            "name": "Croque",
            "kitchen_name": "CROQUE",
            "price": "12.50",
            "modifier_groups": [
                {
                    "id": "G1",
                    "name": "Sauzen",
                    "min": 0,
                    "max": 3,
                    "modifiers": [
                        {"id": "M1", "name": "Andalouse", "kitchen_name": "AND", "price": "0.90"},
                        {"id": "M2", "name": "Mayo", "kitchen_name": "MAYO", "price": "0.80"},
                        {"id": "M3", "name": "Ketchup", "kitchen_name": "KET", "price": "0.00"},
                    ],
                }
            ],
        },
        {
            "id": "P2",
            "name": "Cola",
            "kitchen_name": "COLA",
            "price": "2.87",
            "modifier_groups": [
                {
                    "id": "G2",
                    "name": "Formaat",
                    "min": 1,
                    "max": 1,
                    "modifiers": [
                        {"id": "M4", "name": "Klein", "kitchen_name": "KL", "price": "0.00"},
                        {"id": "M5", "name": "Groot", "kitchen_name": "GR", "price": "1.50"},
                    ],
                }
            ],
        },
        {
            "id": "P3",
            "name": "Frietjes",
            "kitchen_name": "FRIET",
            "price": "3.40",
            "modifier_groups": [
                {
                    "id": "G3",
                    "name": "Extra's",
                    "min": 0,
                    "max": 0,  # no upper bound
                    "modifiers": [
                        {"id": "M6", "name": "Zout", "kitchen_name": "ZOUT", "price": "0.00"},
                        {"id": "M7", "name": "Kaas", "kitchen_name": "KAAS", "price": "1.25"},
                    ],
                }
            ],
        },
    ]
}

# (product, quantity, [(modifier, quantity per unit)], hand-computed line total)
LINES = [
    ("P1", 1, [], "12.50"),
    ("P1", 2, [], "25.00"),
    ("P1", 3, [], "37.50"),
    ("P1", 1, [("M1", 1)], "13.40"),  # 1 x (12.50 + 0.90)
    ("P1", 2, [("M1", 1)], "26.80"),  # 2 x (12.50 + 0.90), not 25.90
    ("P1", 3, [("M1", 1)], "40.20"),  # 3 x 13.40
    ("P1", 2, [("M1", 2)], "28.60"),  # 2 x (12.50 + 2 x 0.90)
    ("P1", 3, [("M1", 1), ("M2", 1)], "42.60"),  # 3 x (12.50 + 0.90 + 0.80)
    ("P1", 3, [("M1", 1), ("M2", 1), ("M3", 1)], "42.60"),  # Ketchup is free
    ("P1", 2, [("M3", 1)], "25.00"),  # a free modifier changes nothing
    ("P2", 1, [("M5", 1)], "4.37"),  # 2.87 + 1.50
    ("P2", 2, [("M5", 1)], "8.74"),  # the protocol page's example
    ("P2", 3, [("M5", 1)], "13.11"),
    ("P2", 3, [("M4", 1)], "8.61"),  # 3 x 2.87, free size
    ("P3", 3, [("M6", 1), ("M7", 2)], "17.70"),  # 3 x (3.40 + 0 + 2 x 1.25)
]


@pytest.fixture
def menu(indexed_db: Database[dict[str, Any]], location: Location) -> Menu:
    return import_menu(indexed_db, location.id, CATALOG)


def request(menu: Menu, product: str, quantity: int, modifiers: list[tuple[str, int]]) -> Any:
    return LineRequest(
        menu.items[product], quantity, [ModifierRequest(menu.modifiers[m], q) for m, q in modifiers]
    )


@pytest.mark.parametrize(("product", "quantity", "modifiers", "total"), LINES)
def test_the_library_values_a_line_per_unit(
    product: str, quantity: int, modifiers: list[tuple[str, int]], total: str
) -> None:
    prices = {
        m["id"]: Decimal(m["price"])
        for p in CATALOG["products"]
        for g in p["modifier_groups"]
        for m in g["modifiers"]
    }
    line = kassanet.OrderLine(
        product,
        quantity,
        next(Decimal(p["price"]) for p in CATALOG["products"] if p["id"] == product),
        tuple(kassanet.OrderLineModifier(m, q, prices[m]) for m, q in modifiers),
    )
    assert line.total == Decimal(total)


@pytest.mark.django_db
@pytest.mark.parametrize(("product", "quantity", "modifiers", "total"), LINES)
def test_an_order_line_is_priced_per_unit_at_creation(
    location: Location,
    menu: Menu,
    product: str,
    quantity: int,
    modifiers: list[tuple[str, int]],
    total: str,
) -> None:
    priced = MenuPricer().price(location.id, [request(menu, product, quantity, modifiers)])
    assert priced.lines[0]["total"] == priced.total == Decimal(total)


@pytest.mark.django_db
def test_the_interop_report_order_is_priced_as_the_register_billed_it(
    location: Location, menu: Menu
) -> None:
    # 1 x Croque + 2 x Andalouse: 12.50 + 2 x 0.90 = 14.30
    # 2 x Cola + Groot: 2 x (2.87 + 1.50) = 8.74
    # The register billed 14.30 + 8.74 = 23.04 (the old rule said 12.50 + 1.80 + 5.74 + 1.50).
    priced = MenuPricer().price(
        location.id,
        [request(menu, "P1", 1, [("M1", 2)]), request(menu, "P2", 2, [("M5", 1)])],
    )
    assert [line["total"] for line in priced.lines] == [Decimal("14.30"), Decimal("8.74")]
    assert priced.total == Decimal("23.04")


# -- modifier-group rules -----------------------------------------------------------------------


def create(api: APIClient, location: Location, body: dict[str, Any]) -> Any:
    return api.post(f"/api/backoffice/locations/{location.id}/transactions", body, format="json")


def line(menu: Menu, product: str, *modifiers: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "item_id": menu.items[product],
        "quantity": quantity,
        "modifiers": [{"modifier_id": menu.modifiers[m], "quantity": 1} for m in modifiers],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        # Formaat is required (min 1): a Cola without a size is refused, naming line and group.
        (
            lambda m: [line(m, "P1"), line(m, "P2", quantity=2)],
            {"1": {"modifiers": ["Choose at least 1 option in 'Formaat'."]}},
        ),
        # Formaat allows one size only (max 1).
        (
            lambda m: [line(m, "P2", "M4", "M5")],
            {"0": {"modifiers": ["Choose at most 1 option in 'Formaat'."]}},
        ),
        # Sauzen allows three (max 3); the per-unit quantities count.
        (
            lambda m: [
                {
                    "item_id": m.items["P1"],
                    "quantity": 1,
                    "modifiers": [
                        {"modifier_id": m.modifiers["M1"], "quantity": 2},
                        {"modifier_id": m.modifiers["M2"], "quantity": 2},
                    ],
                }
            ],
            {"0": {"modifiers": ["Choose at most 3 options in 'Sauzen'."]}},
        ),
        # Two bad lines are both named.
        (
            lambda m: [line(m, "P2"), line(m, "P3"), line(m, "P2", "M4", "M5")],
            {
                "0": {"modifiers": ["Choose at least 1 option in 'Formaat'."]},
                "2": {"modifiers": ["Choose at most 1 option in 'Formaat'."]},
            },
        ),
    ],
)
def test_a_modifier_group_rule_broken_is_a_400_naming_the_line_and_the_group(
    api: APIClient, location: Location, menu: Menu, lines: Any, errors: dict[str, Any]
) -> None:
    response = create(
        api, location, {"channel": "kiosk", "service_type": "eat_in", "lines": lines(menu)}
    )

    assert response.status_code == 400, response.content
    assert response.json() == {"lines": errors}
    assert api.get(f"/api/backoffice/locations/{location.id}/transactions").json()["count"] == 0


@pytest.mark.django_db
def test_orders_within_the_rules_are_accepted(
    api: APIClient, location: Location, menu: Menu
) -> None:
    response = create(
        api,
        location,
        {
            "channel": "kiosk",
            "service_type": "takeaway",
            "lines": [
                line(menu, "P2", "M5", quantity=2),  # exactly one size
                line(menu, "P1", "M1", "M2", "M3"),  # three sauces, the maximum
                line(menu, "P3", "M6", "M7", quantity=3),  # no upper bound: max 0
            ],
        },
    )

    assert response.status_code == 201, response.content
    # 2 x (2.87 + 1.50) + (12.50 + 0.90 + 0.80 + 0.00) + 3 x (3.40 + 0.00 + 1.25)
    assert response.json()["total"] == "36.89"


def test_max_zero_means_no_upper_bound_and_min_is_checked_first() -> None:
    from orders.pricing import group_rule_errors

    assert group_rule_errors({"name": "X", "min": 0, "max": 0}, 9) == []
    assert group_rule_errors({"name": "X", "min": 2, "max": 3}, 1) == [
        "Choose at least 2 options in 'X'."
    ]
    assert group_rule_errors({"name": "X", "min": 2, "max": 3}, 4) == [
        "Choose at most 3 options in 'X'."
    ]


# -- service type -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "requested", "expected"),
    [
        ("table_qr", None, "eat_in"),
        ("table_qr", "eat_in", "eat_in"),
        ("online", None, "takeaway"),
        ("online", "delivery", "delivery"),
        ("online", "eat_in", "eat_in"),
        ("kiosk", "eat_in", "eat_in"),
        ("kiosk", "takeaway", "takeaway"),
    ],
)
def test_service_type_defaults_by_channel(
    channel: str, requested: str | None, expected: str
) -> None:
    assert service_type_for(channel, requested) == expected


@pytest.mark.parametrize(
    ("channel", "requested", "message"),
    [
        ("kiosk", None, "A kiosk order must say its service_type: eat_in or takeaway."),
        ("kiosk", "delivery", "A kiosk order cannot be delivery; send eat_in or takeaway."),
        ("table_qr", "takeaway", "A table_qr order cannot be takeaway; send eat_in."),
    ],
)
def test_service_type_refusals_say_what_to_send(
    channel: str, requested: str | None, message: str
) -> None:
    with pytest.raises(ServiceTypeError, match=message):
        service_type_for(channel, requested)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            {"channel": "kiosk"},
            400,
            ["A kiosk order must say its service_type: eat_in or takeaway."],
        ),
        (
            {"channel": "kiosk", "service_type": "drive_in"},
            400,
            ['"drive_in" is not a valid choice.'],
        ),
        (
            {"channel": "table_qr", "table_number": 4, "service_type": "delivery"},
            400,
            ["A table_qr order cannot be delivery; send eat_in."],
        ),
        ({"channel": "table_qr", "table_number": 4}, 201, "eat_in"),
        ({"channel": "online"}, 201, "takeaway"),
        ({"channel": "online", "service_type": "delivery"}, 201, "delivery"),
        ({"channel": "kiosk", "service_type": "takeaway"}, 201, "takeaway"),
    ],
)
def test_the_api_stores_and_shows_the_service_type(
    api: APIClient,
    location: Location,
    menu: Menu,
    body: dict[str, Any],
    status: int,
    expected: Any,
) -> None:
    response = create(api, location, {**body, "lines": [line(menu, "P1")]})

    assert response.status_code == status, response.content
    if status == 400:
        assert response.json() == {"service_type": expected}
    else:
        assert response.json()["service_type"] == expected
        shown = api.get(f"/api/backoffice/transactions/{response.json()['id']}").json()
        assert shown["service_type"] == expected
