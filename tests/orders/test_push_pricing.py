"""The push sends lines priced per unit, with the service type, and checks the bill per unit;
an order stored under the old per-line rule is failed with a message saying why.

Against the in-process simulator over real HTTP (catalog of 30 products, seed 1):
P2 costs 20.40 with modifiers M4-2 (1.50) and M4-5 (0.00); P8 costs 2.90 and needs one of
"Options 5" (M5-1, 2.30); M6-1 costs 2.80.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, ObjectId

from kassanet.testing import SimulatorHandle
from locations.repository import Location
from orders.push import LEGACY_PRICING, MISMATCH, OrderPusher, Outcome
from orders.repository import TransactionRepository
from orders.states import IN_FLIGHT, PushStatus
from tests.orders.conftest import PROVIDER, Clock, Menu
from tests.orders.helpers import paid_order

pytestmark = pytest.mark.django_db


def test_send_order_lines_carry_modifiers_per_unit_and_the_bill_matches(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn = paid_order(
        location,
        integration,
        menu,
        clock(),
        products=[("P2", 2, ("M4-2", "M4-5")), ("P8", 3, ("M5-1", "M6-1"))],
        service_type="eat_in",
    )
    # 2 x (20.40 + 1.50 + 0.00) + 3 x (2.90 + 2.30 + 2.80) = 43.80 + 24.00
    assert txn.total == Decimal("67.80")

    assert pusher.advance(txn.id, IN_FLIGHT) == Outcome(PushStatus.PAID)

    (bill,) = simulator.bills()
    assert bill["total"] == "67.80"
    assert [
        (line["product_id"], line["quantity"], line["service_type"], line["unit_price"])
        for line in bill["lines"]
    ] == [("P2", 2, "eat_in", "20.40"), ("P8", 3, "eat_in", "2.90")]
    assert [
        [(m["modifier_id"], m["quantity"]) for m in line["modifiers"]] for line in bill["lines"]
    ] == [
        [("M4-2", 1), ("M4-5", 1)],
        [("M5-1", 1), ("M6-1", 1)],
    ]
    assert [(p["reference"], p["amount"]) for p in simulator.payments()] == [(txn.id, "67.80")]


def test_a_register_that_prices_modifiers_per_line_is_a_total_mismatch(
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    """The bill check compares the register's total with ours, per unit: a register whose
    M4-2 costs 0.75 bills 2 x (20.40 + 0.75) = 42.30 where we charged 43.80."""
    catalog = simulator.catalog()
    for product in catalog["products"]:
        for group in product["modifier_groups"]:
            for modifier in group["modifiers"]:
                if modifier["id"] == "M4-2":
                    modifier["price"] = "0.75"
    simulator.set_catalog(catalog)
    txn = paid_order(location, integration, menu, clock(), products=[("P2", 2, ("M4-2",))])

    assert pusher.advance(txn.id, IN_FLIGHT) == Outcome(PushStatus.FAILED)

    push = TransactionRepository().get(txn.id).push  # type: ignore[union-attr]
    assert push is not None
    assert push.err_message == f"{MISMATCH}: register bill 42.30 vs order 43.80"
    assert simulator.payments() == []


def legacy_order(db: Any, location: Location, integration: Any, menu: Menu, clock: Clock) -> str:
    """An order as the previous release stored it: no `pricing_rule`, no `service_type`, and
    2 x P2 with M4-2 valued 2 x 20.40 + 1.50 = 42.30 (the register bills 43.80)."""
    now = clock()
    oid = ObjectId()
    db.transactions.insert_one(
        {
            "_id": oid,
            "vendor_id": location.vendor_id,
            "location_id": location.id,
            "currency": "EUR",
            "channel": "kiosk",
            "table_number": None,
            "lines": [
                {
                    "item_id": menu.items["P2"],
                    "name": "P2",
                    "quantity": 2,
                    "unit_price": Decimal128("20.40"),
                    "external_ids": {PROVIDER: "P2"},
                    "note": "",
                    "total": Decimal128("42.30"),
                    "modifiers": [
                        {
                            "modifier_id": menu.modifiers["M4-2"],
                            "name": "M4-2",
                            "quantity": 1,
                            "unit_price": Decimal128("1.50"),
                            "external_ids": {PROVIDER: "M4-2"},
                        }
                    ],
                }
            ],
            "total": Decimal128("42.30"),
            "status": "pending",
            "payment": None,
            "pos_provider": None,
            "pos_message": "",
            "pos_status": None,
            "need_requeue": False,
            "external_data": {},
            "created_at": now,
            "updated_at": now,
        }
    )
    confirmed = TransactionRepository().confirm_payment(
        str(oid),
        amount=Decimal("42.30"),
        payment_provider="stripe",
        payment_reference="pi_legacy",
        push_provider=PROVIDER,
        integration_id=integration.id,
        pos_message="",
        now=now,
    )
    assert confirmed is not None
    return str(oid)


def test_an_order_priced_under_the_old_rule_fails_before_it_reaches_the_register(
    indexed_db: Any,
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn_id = legacy_order(indexed_db, location, integration, menu, clock)

    assert pusher.advance(txn_id, IN_FLIGHT) == Outcome(PushStatus.FAILED)

    push = TransactionRepository().get(txn_id).push  # type: ignore[union-attr]
    assert push is not None
    assert (push.err_code, push.err_message) == (
        "PRICED_PER_LINE",
        f"{LEGACY_PRICING}: the order was priced 42.30 with each modifier counted once per "
        "line, but the register bills 43.80 (modifiers per unit). It was not sent; refund "
        "the difference or create the order again.",
    )
    assert simulator.counters().get("SendOrder", 0) == 0
    assert simulator.bills() == []


def test_an_old_order_whose_total_is_the_same_per_unit_is_pushed(
    indexed_db: Any,
    location: Location,
    integration: Any,
    menu: Menu,
    simulator: SimulatorHandle,
    pusher: OrderPusher,
    clock: Clock,
) -> None:
    txn_id = legacy_order(indexed_db, location, integration, menu, clock)
    indexed_db.transactions.update_one(  # a single unit: both rules give 20.40 + 1.50
        {"_id": ObjectId(txn_id)},
        {
            "$set": {
                "lines.0.quantity": 1,
                "lines.0.total": Decimal128("21.90"),
                "total": Decimal128("21.90"),
                "payment.amount": Decimal128("21.90"),
            }
        },
    )

    assert pusher.advance(txn_id, IN_FLIGHT) == Outcome(PushStatus.PAID)

    (bill,) = simulator.bills()
    assert bill["total"] == "21.90"
    assert bill["lines"][0]["service_type"] is None  # sent without one, as before
