"""A deterministic, seeded menu generator for the simulator."""

from __future__ import annotations

import random
from typing import Any

__all__ = ["DEFAULT_PAYMENT_TYPES", "generate_catalog"]

DEFAULT_PAYMENT_TYPES = [
    {"id": "PT1", "name": "Cash"},
    {"id": "PT2", "name": "Card"},
    {"id": "PT3", "name": "Webshop"},
    {"id": "PT4", "name": "Voucher"},
]

_CATEGORY_NAMES = [
    "Starters",
    "Mains",
    "Pasta",
    "Pizza",
    "Burgers",
    "Salads",
    "Desserts",
    "Soft drinks",
    "Beers",
    "Wines",
    "Coffee",
    "Snacks",
    "Kids",
    "Specials",
]
_DISHES = [
    "Spaghetti",
    "Croque",
    "Stoofvlees",
    "Waterzooi",
    "Burger",
    "Pizza",
    "Salad",
    "Soup",
    "Frites",
    "Mussels",
    "Steak",
    "Wrap",
    "Cola",
    "Tea",
    "Espresso",
    "Pils",
    "Tripel",
    "Wafel",
    "Dame blanche",
    "Tiramisu",
    "Cheesecake",
    "Nuggets",
]
_STYLES = ["classic", "deluxe", "mini", "XL", "veggie", "spicy", "house", "crème", "du chef"]
_MODIFIERS = [
    "Extra cheese",
    "Bacon",
    "No onion",
    "Mayonnaise",
    "Ketchup",
    "Andalouse",
    "Large",
    "Small",
    "Gluten free",
    "Ice",
    "Lemon",
    "Whipped cream",
    "Béarnaise",
]
_VAT_RATES = ["6.00", "12.00", "21.00"]
_PAGERS = ["Pager", "Buzzer", "Pieper"]


def _money(rng: random.Random, low_cents: int, high_cents: int) -> str:
    cents = rng.randrange(low_cents, high_cents, 10)
    return f"{cents // 100}.{cents % 100:02d}"


def generate_catalog(products: int = 200, seed: int = 1, tables: int = 50) -> dict[str, Any]:
    """A whole catalog: ``products``, ``selections``, ``tables`` and ``payment_types``.

    About ``products / 33`` categories (a third of them subcategories of another),
    ``products / 5`` modifier groups, ``products / 50`` selections, stock as an int or null,
    a few placeholders (kitchen name ``zz``) and pager items ("Pager 12"). The same arguments
    always give the same catalog.
    """
    rng = random.Random(seed)
    n_categories = max(1, products // 33)
    categories: list[dict[str, Any]] = []
    for i in range(n_categories):
        parent = None
        if i >= 3 and rng.random() < 0.35:
            top = [c for c in categories[: max(3, i // 2)] if c["parent"] is None]
            parent = dict(rng.choice(top)) if top else None
        name = f"{_CATEGORY_NAMES[i % len(_CATEGORY_NAMES)]} {i + 1}"
        categories.append({"id": f"C{i + 1}", "name": name, "parent": parent})

    groups: list[dict[str, Any]] = []
    for i in range(max(1, products // 5)):
        count = rng.randint(2, 5)
        modifiers = [
            {
                "id": f"M{i + 1}-{j + 1}",
                "name": rng.choice(_MODIFIERS),
                "kitchen_name": f"MOD {i + 1}.{j + 1}",
                "price": _money(rng, 0, 300) if rng.random() < 0.7 else "0.00",
            }
            for j in range(count)
        ]
        minimum = rng.choice([0, 0, 1])
        groups.append(
            {
                "id": f"G{i + 1}",
                "name": f"Options {i + 1}",
                "min": minimum,
                "max": rng.randint(max(1, minimum), count),
                "modifiers": modifiers,
            }
        )

    items: list[dict[str, Any]] = []
    for i in range(products):
        number = i + 1
        name = f"{rng.choice(_DISHES)} {rng.choice(_STYLES)} {number}"
        kitchen_name = name.upper()[:24]
        if number % 97 == 0:
            kitchen_name = "zz"
        if number % 151 == 0:
            name = f"{_PAGERS[(number // 151) % len(_PAGERS)]} {number % 40 + 1}"
        n_groups = rng.choice([0, 0, 1, 1, 2])
        items.append(
            {
                "id": f"P{number}",
                "name": name,
                "kitchen_name": kitchen_name,
                "plu": str(10000 + number),
                "price": _money(rng, 150, 3500),
                "vat_rate": rng.choice(_VAT_RATES),
                "category": rng.choice(categories),
                "modifier_groups": rng.sample(groups, min(n_groups, len(groups))),
                "stock": rng.randint(0, 200) if rng.random() < 0.3 else None,
                "active": rng.random() > 0.03,
            }
        )

    selections = []
    ids = [p["id"] for p in items]
    for i in range(max(1, products // 50)):
        size = min(len(ids), rng.randint(5, 40))
        selections.append(
            {
                "id": f"S{i + 1}",
                "name": f"Selection {i + 1}",
                "sort": (i + 1) * 10,
                "product_ids": rng.sample(ids, size),
            }
        )

    return {
        "products": items,
        "selections": selections,
        "tables": [{"number": n, "name": f"Table {n}"} for n in range(1, tables + 1)],
        "payment_types": [dict(p) for p in DEFAULT_PAYMENT_TYPES],
    }
