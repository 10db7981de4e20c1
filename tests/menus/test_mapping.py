"""Mapping rules of the menu import, driven by JSON fixtures of register payloads."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import kassanet
from menus.mapping import (
    Issues,
    MappedCategory,
    MappedDisplayGroup,
    compile_pager_patterns,
    is_placeholder,
    map_categories,
    map_display_groups,
    map_products,
    parse_products,
    select_menu_products,
)

FIXTURES = Path(__file__).parent / "fixtures"
PAGERS = compile_pager_patterns([r"^\s*(pager|buzzer|pieper)\s*#?\s*\d+\s*$"])


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def selections(catalog: dict[str, Any]) -> list[kassanet.Selection]:
    return [
        kassanet.Selection(s["id"], s["name"], s["sort"], tuple(s["product_ids"]))
        for s in catalog["selections"]
    ]


def menu_products(name: str, issues: Issues) -> list[kassanet.Product]:
    return select_menu_products(parse_products(load(name)["products"], issues), PAGERS, issues)


def test_categories_of_menu_products_keep_one_level_of_subcategories() -> None:
    issues = Issues()
    products = menu_products("register_basic.json", issues)

    categories = map_categories(products, issues)

    assert categories == {
        "C1": MappedCategory("C1", "Mains", None),
        "C2": MappedCategory("C2", "Pasta", "C1"),
        "C3": MappedCategory("C3", "Drinks", None),
        "C5": MappedCategory("C5", "Desserts", None),
    }  # C4 only holds an inactive product
    assert issues.warnings == {}


def test_category_cycles_become_top_level_with_a_warning() -> None:
    issues = Issues()
    products = parse_products(load("register_category_cycle.json")["products"], issues)

    categories = map_categories(products, issues)

    assert {key: c.parent_external_id for key, c in categories.items()} == {
        "C2": None,
        "C1": None,
        "C3": None,
        "C5": None,
        "C4": "C5",
    }
    assert issues.warnings == {"categories": 3}
    suffix = "is not a top-level category (a cycle or more than one level); imported as a top-level category"
    assert issues.messages == [
        f"category 'C2': its parent 'C1' {suffix}",
        f"category 'C1': its parent 'C2' {suffix}",
        f"category 'C3': its parent 'C3' {suffix}",
    ]


def test_items_skip_inactive_products_and_placeholders() -> None:
    issues = Issues()

    mapping = map_products(menu_products("register_basic.json", issues), issues)

    assert list(mapping.items) == ["P1", "P2", "P3", "P7"]
    assert issues.skipped == {"items": 3}  # P4 (zz), P5 (Pager 12), P6 (inactive)
    p2 = mapping.items["P2"]
    assert (p2.name, p2.kitchen_name, p2.plu, p2.price, p2.vat_rate) == (
        "Lasagne",
        "LASAGNE",
        "10002",
        Decimal("16"),
        Decimal("12.00"),
    )
    assert (p2.category_external_id, p2.modifier_group_external_ids, p2.stock) == (
        "C2",
        ("G1", "G2"),
        None,
    )


def test_modifier_groups_are_shared_between_products() -> None:
    issues = Issues()

    mapping = map_products(menu_products("register_basic.json", issues), issues)

    assert list(mapping.modifier_groups) == ["G1", "G2"]
    g1 = mapping.modifier_groups["G1"]
    assert (g1.name, g1.min, g1.max) == ("Cheese", 0, 1)
    assert [(m.external_id, m.name, m.kitchen_name, m.price) for m in g1.modifiers] == [
        ("M1", "Extra cheese", "XCHEESE", Decimal("1.50")),
        ("M2", "No cheese", "NOCHEESE", Decimal("0.00")),
    ]


def test_placeholder_rules() -> None:
    def product(name: str, kitchen_name: str) -> kassanet.Product:
        return kassanet.Product(
            "P", name, kitchen_name, "", Decimal("1"), None, None, (), None, True
        )

    assert is_placeholder(product("Anything", " ZZ "), PAGERS)
    assert is_placeholder(product("buzzer #3", "BUZ"), PAGERS)
    assert is_placeholder(product("Pieper 7", "P"), PAGERS)
    assert not is_placeholder(product("Pager menu deluxe", "PAGER"), PAGERS)
    assert not is_placeholder(product("Pizza", "zzz"), PAGERS)


def test_malformed_products_are_skipped_with_a_warning_each() -> None:
    issues = Issues()

    products = parse_products(load("register_bad_products.json")["products"], issues)

    assert [p.id for p in products] == ["B1"]
    assert issues.skipped == {"items": 5}
    assert issues.warnings == {"items": 5}
    assert issues.messages == [
        "product 'B2' skipped: products[1].price: expected a money string like '12.50', got 12.5",
        "product 'B3' skipped: products[2].name: missing",
        "product #4 skipped: products[3]: expected an object, got str",
        "product 'B1' appears twice; the first one is kept",
        "product 'B5' skipped: products[5].stock: expected int, got 'many'",
    ]


def test_display_groups_follow_sort_and_leave_out_non_items() -> None:
    catalog = load("register_basic.json")
    issues = Issues()
    products = parse_products(catalog["products"], issues)
    mapping = map_products(select_menu_products(products, PAGERS, issues), issues)

    groups = map_display_groups(
        selections(catalog), set(mapping.items), {p.id for p in products}, issues
    )

    assert groups == [
        MappedDisplayGroup("S1", "Food", 10, ("P2", "P1")),
        MappedDisplayGroup("S2", "Drinks", 20, ("P3",)),
        MappedDisplayGroup("S3", "Sweet", 30, ("P7",)),
    ]
    assert issues.warnings == {"display_groups": 1}
    assert issues.messages == [
        "selection 'S1' lists 1 unknown product(s) ('P404'); they are left out"
    ]


def test_issues_keep_exact_counts_but_bounded_messages() -> None:
    issues = Issues()

    for i in range(80):
        issues.warn("items", f"warning {i}")

    assert issues.warnings == {"items": 80}
    assert len(issues.messages) == 50
