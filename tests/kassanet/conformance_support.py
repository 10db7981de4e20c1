"""A small, hand-priced register catalog for the conformance kit's tests.

Hand-computed totals of the test order (quantity 2, protocol page section 6):

* ``P2:M2-1`` (Cola + Groot): 2 x (2.87 + 1.50) = 8.74; priced per line (the old bug)
  2 x 2.87 + 1.50 = 7.24.
* ``P1:M1-1:M1-1`` (Croque + 2 Andalouse per unit): 2 x (4.60 + 2 x 0.90) = 12.80; per line
  2 x 4.60 + 2 x 0.90 = 11.00.
"""

from __future__ import annotations

import copy
from typing import Any

from kassanet.simulator import DEFAULT_PAYMENT_TYPES

SIGNATURE_KEY = "kit-signature-key-0123456789"
ENCRYPTION_TOKEN = "kit-encryption-token-9876543210"
SECRETS = (SIGNATURE_KEY, ENCRYPTION_TOKEN)


def _product(
    product_id: str, name: str, price: str, group: dict[str, Any], vat: str = "12.00"
) -> dict[str, Any]:
    return {
        "id": product_id,
        "name": name,
        "kitchen_name": name.upper(),
        "plu": product_id[1:],
        "price": price,
        "vat_rate": vat,
        "category": {"id": "C1", "name": "Kassa", "parent": None},
        "modifier_groups": [group],
        "stock": None,
        "active": True,
    }


def _modifier(modifier_id: str, name: str, price: str) -> dict[str, Any]:
    return {"id": modifier_id, "name": name, "kitchen_name": name.upper(), "price": price}


CATALOG: dict[str, Any] = {
    "products": [
        _product(
            "P1",
            "Croque",
            "4.60",
            {
                "id": "G1",
                "name": "Saus",
                "min": 0,
                "max": 2,
                "modifiers": [
                    _modifier("M1-1", "Andalouse", "0.90"),
                    _modifier("M1-2", "Mayonnaise", "0.00"),
                ],
            },
        ),
        _product(
            "P2",
            "Cola",
            "2.87",
            {
                "id": "G2",
                "name": "Formaat",
                "min": 1,
                "max": 1,
                "modifiers": [_modifier("M2-1", "Groot", "1.50"), _modifier("M2-2", "Klein", "0")],
            },
            vat="21.00",
        ),
    ],
    "selections": [{"id": "S1", "name": "Alles", "sort": 10, "product_ids": ["P1", "P2"]}],
    "tables": [{"number": 1, "name": "Tafel 1"}, {"number": 2, "name": "Tafel 2"}],
    "payment_types": copy.deepcopy(DEFAULT_PAYMENT_TYPES),
}


def catalog() -> dict[str, Any]:
    return copy.deepcopy(CATALOG)
