"""Map a register's catalog (Kassanet payloads) to the platform's menu records.

Pure functions without I/O: they take what the register answered and return what the menu
should look like, keyed by the register's ids, plus a :class:`Issues` record of what was
skipped and why. :mod:`menus.diff` then compares that with the records already stored.

Rules (docs/menu-import.md):

- a product that does not parse is skipped with a warning; the others still import;
- an inactive product (``active: false``) is skipped (it is not on the menu) and counted;
- placeholders are skipped: kitchen name ``zz`` (any case) or a name matching one of the
  pager patterns (``settings.PAGER_NAME_PATTERNS``);
- categories come from the products' categories, with one level of subcategories; a parent
  that is itself a subcategory (a cycle, or a second level) makes the category top-level,
  with a warning;
- modifier groups are shared between products by their register id (first definition wins,
  a different later definition is reported);
- display groups come from the product selections in their ``sort`` order; product ids that
  are not imported items are left out (unknown ids are reported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import kassanet

__all__ = [
    "MAX_SKIPS",
    "MAX_WARNINGS",
    "SKIP_REASONS",
    "Issues",
    "MappedCategory",
    "MappedDisplayGroup",
    "MappedItem",
    "MappedModifier",
    "MappedModifierGroup",
    "ProductMapping",
    "compile_pager_patterns",
    "is_placeholder",
    "map_categories",
    "map_display_groups",
    "map_products",
    "parse_products",
    "placeholder_reason",
    "raw_product_ids",
    "select_menu_products",
]

# Warnings kept word for word in the report (the counts are always exact).
MAX_WARNINGS = 50
# Skipped products listed one by one in the report (the counts per reason are always exact).
MAX_SKIPS = 500
PLACEHOLDER_KITCHEN_NAME = "zz"

# Why a register product is not on the menu: code -> what the report says.
SKIP_PLACEHOLDER = "placeholder_kitchen_name"
SKIP_PAGER = "pager_pattern"
SKIP_INACTIVE = "inactive"
SKIP_INVALID_PRICE = "invalid_price"
SKIP_UNKNOWN_CATEGORY = "unknown_category"
SKIP_NOT_IN_SELECTION = "not_in_selection"
SKIP_DUPLICATE_ID = "duplicate_id"
SKIP_INVALID = "invalid_product"
SKIP_REASONS: dict[str, str] = {
    SKIP_PLACEHOLDER: "placeholder kitchen name 'zz'",
    SKIP_PAGER: "the name matches a pager pattern",
    SKIP_INACTIVE: "inactive in the register",
    SKIP_INVALID_PRICE: "invalid price",
    SKIP_UNKNOWN_CATEGORY: "unknown category (the register's category cannot be read)",
    SKIP_NOT_IN_SELECTION: "not in any product selection (imported, but on no display group)",
    SKIP_DUPLICATE_ID: "duplicate id (the first product with this id is kept)",
    SKIP_INVALID: "the register's data for it cannot be read",
}


@dataclass
class Issues:
    """What an import step skipped or found odd, per entity (``items``, ``categories`` ...)."""

    skipped: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    # Register products left out of the menu, one by one (``MAX_SKIPS`` at most) and the exact
    # count per reason (a ``SKIP_REASONS`` code).
    products: list[dict[str, Any]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, entity: str, count: int = 1) -> None:
        self.skipped[entity] = self.skipped.get(entity, 0) + count

    def skip_product(self, reason: str, pos_id: str | None, name: str | None) -> None:
        """Record why one register product is not on the menu (``reason``: a SKIP_* code)."""
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if len(self.products) < MAX_SKIPS:
            self.products.append({"pos_id": pos_id, "name": name, "reason": reason})

    def warn(self, entity: str, message: str) -> None:
        self.warnings[entity] = self.warnings.get(entity, 0) + 1
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(message)

    def merge(self, other: Issues) -> None:
        for entity, count in other.skipped.items():
            self.skip(entity, count)
        for entity, count in other.warnings.items():
            self.warnings[entity] = self.warnings.get(entity, 0) + count
        room = MAX_WARNINGS - len(self.messages)
        self.messages.extend(other.messages[: max(room, 0)])
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count
        self.products.extend(other.products[: max(MAX_SKIPS - len(self.products), 0)])

    def to_document(self) -> dict[str, Any]:
        return {
            "skipped": self.skipped,
            "warnings": self.warnings,
            "messages": self.messages,
            "products": self.products,
            "reasons": self.reasons,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Issues:
        return cls(
            dict(doc["skipped"]),
            dict(doc["warnings"]),
            list(doc["messages"]),
            list(doc.get("products", [])),  # staging written before skip reasons existed
            dict(doc.get("reasons", {})),
        )


@dataclass(frozen=True, slots=True)
class MappedCategory:
    external_id: str
    name: str
    parent_external_id: str | None


@dataclass(frozen=True, slots=True)
class MappedModifier:
    external_id: str
    name: str
    kitchen_name: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class MappedModifierGroup:
    external_id: str
    name: str
    min: int
    max: int
    modifiers: tuple[MappedModifier, ...]


@dataclass(frozen=True, slots=True)
class MappedItem:
    external_id: str
    name: str
    kitchen_name: str
    price: Decimal
    plu: str
    vat_rate: Decimal | None
    category_external_id: str | None
    modifier_group_external_ids: tuple[str, ...]
    stock: int | None


@dataclass(frozen=True, slots=True)
class MappedDisplayGroup:
    external_id: str
    name: str
    sort: int
    item_external_ids: tuple[str, ...]


@dataclass(frozen=True)
class ProductMapping:
    """Items and the modifier groups they use, in register order."""

    items: dict[str, MappedItem]
    modifier_groups: dict[str, MappedModifierGroup]


def compile_pager_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile the pager name patterns (case-insensitive)."""
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


def _product_label(raw: Any, index: int) -> str:
    product_id = raw.get("id") if isinstance(raw, dict) else None
    return f"product {product_id!r}" if product_id is not None else f"product #{index + 1}"


def _raw_field(raw: Any, name: str) -> str | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _parse_error_reason(message: str, index: int) -> str:
    """The skip reason of a product that does not parse, from the error's path."""
    path = message.split(":", 1)[0]
    own = f"products[{index}]"
    if path in (f"{own}.price", f"{own}.vat_rate") or path.endswith(".price"):
        return SKIP_INVALID_PRICE
    if path.startswith(f"{own}.category"):
        return SKIP_UNKNOWN_CATEGORY
    return SKIP_INVALID


def parse_products(raw_products: Sequence[Any], issues: Issues) -> list[kassanet.Product]:
    """Parse each product on its own: a malformed one is skipped (``items``) with a warning.

    A repeated product id keeps the first product and reports the others.
    """
    products: list[kassanet.Product] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_products):
        try:
            product = kassanet.parse_product(raw, f"products[{index}]")
        except kassanet.PayloadError as error:
            issues.skip("items")
            issues.warn("items", f"{_product_label(raw, index)} skipped: {error.message}")
            issues.skip_product(
                _parse_error_reason(error.message, index),
                _raw_field(raw, "id"),
                _raw_field(raw, "name"),
            )
            continue
        if product.id in seen:
            issues.skip("items")
            issues.warn("items", f"product {product.id!r} appears twice; the first one is kept")
            issues.skip_product(SKIP_DUPLICATE_ID, product.id, product.name)
            continue
        seen.add(product.id)
        products.append(product)
    return products


def raw_product_ids(raw_products: Sequence[Any]) -> list[str]:
    """Every id the register lists, parseable product or not (to tell unknown ids apart)."""
    return [
        str(raw["id"])
        for raw in raw_products
        if isinstance(raw, dict) and isinstance(raw.get("id"), str | int)
    ]


def placeholder_reason(
    product: kassanet.Product, pager_patterns: Sequence[re.Pattern[str]]
) -> str | None:
    """Why the product is a placeholder (a SKIP_* code), or None when it is not one."""
    if product.kitchen_name.strip().lower() == PLACEHOLDER_KITCHEN_NAME:
        return SKIP_PLACEHOLDER
    if any(pattern.search(product.name) for pattern in pager_patterns):
        return SKIP_PAGER
    return None


def is_placeholder(product: kassanet.Product, pager_patterns: Sequence[re.Pattern[str]]) -> bool:
    """A placeholder: kitchen name ``zz`` (any case) or a name matching a pager pattern."""
    return placeholder_reason(product, pager_patterns) is not None


def map_categories(
    products: Iterable[kassanet.Product], issues: Issues
) -> dict[str, MappedCategory]:
    """The categories the products use (parents included), in order of first use.

    One level of subcategories: a parent that has a parent of its own (a cycle, or a deeper
    tree) is not followed; the category becomes top-level and a warning says so.
    """
    names: dict[str, str] = {}
    parents: dict[str, str | None] = {}  # only from a product's own category
    conflicting: set[str] = set()

    def note(category_id: str, name: str, parent_id: str | None, *, full: bool) -> None:
        known_name = names.setdefault(category_id, name)
        known_parent = parents.setdefault(category_id, parent_id) if full else None
        if (known_name != name or known_parent != parent_id) and category_id not in conflicting:
            conflicting.add(category_id)
            issues.warn(
                "categories",
                f"category {category_id!r} is defined differently by several products; "
                "the first definition is kept",
            )

    for product in products:
        category = product.category
        if category is None:
            continue
        if category.parent is not None:
            note(category.parent.id, category.parent.name, None, full=False)
        note(category.id, category.name, category.parent.id if category.parent else None, full=True)

    result: dict[str, MappedCategory] = {}
    for category_id, name in names.items():
        parent_id = parents.get(category_id)
        if parent_id is not None and (parent_id == category_id or parents.get(parent_id)):
            issues.warn(
                "categories",
                f"category {category_id!r}: its parent {parent_id!r} is not a top-level "
                "category (a cycle or more than one level); imported as a top-level category",
            )
            parent_id = None
        result[category_id] = MappedCategory(category_id, name, parent_id)
    return result


def _map_modifier_group(group: kassanet.ModifierGroup) -> MappedModifierGroup:
    return MappedModifierGroup(
        external_id=group.id,
        name=group.name,
        min=group.min,
        max=group.max,
        modifiers=tuple(
            MappedModifier(m.id, m.name, m.kitchen_name, m.price) for m in group.modifiers
        ),
    )


def select_menu_products(
    products: Iterable[kassanet.Product],
    pager_patterns: Sequence[re.Pattern[str]],
    issues: Issues,
) -> list[kassanet.Product]:
    """The products that go on the menu: active ones that are not placeholders.

    Inactive products and placeholders are counted as skipped items (no warning: the register
    says so on purpose). If they were imported before, the import removes them.
    """
    selected = []
    for product in products:
        reason = (
            SKIP_INACTIVE if not product.active else placeholder_reason(product, pager_patterns)
        )
        if reason is not None:
            issues.skip("items")
            issues.skip_product(reason, product.id, product.name)
        else:
            selected.append(product)
    return selected


def map_products(products: Iterable[kassanet.Product], issues: Issues) -> ProductMapping:
    """Items and the modifier groups they link to, from the menu products.

    Each item's modifier groups are exactly the product's groups in the register: links
    removed there are removed here (the links are rebuilt, never merged).
    """
    items: dict[str, MappedItem] = {}
    groups: dict[str, MappedModifierGroup] = {}
    conflicting: set[str] = set()
    for product in products:
        group_ids: list[str] = []
        for group in product.modifier_groups:
            mapped = _map_modifier_group(group)
            known = groups.setdefault(group.id, mapped)
            if known != mapped and group.id not in conflicting:
                conflicting.add(group.id)
                issues.warn(
                    "modifier_groups",
                    f"modifier group {group.id!r} differs between products; the first "
                    "definition is kept",
                )
            if group.id not in group_ids:
                group_ids.append(group.id)
        items[product.id] = MappedItem(
            external_id=product.id,
            name=product.name,
            kitchen_name=product.kitchen_name,
            price=product.price,
            plu=product.plu,
            vat_rate=product.vat_rate,
            category_external_id=product.category.id if product.category else None,
            modifier_group_external_ids=tuple(group_ids),
            stock=product.stock,
        )
    return ProductMapping(items=items, modifier_groups=groups)


def map_display_groups(
    selections: Iterable[kassanet.Selection],
    item_ids: set[str],
    all_product_ids: set[str],
    issues: Issues,
) -> list[MappedDisplayGroup]:
    """Display groups from selections, ordered by ``sort`` (then register order).

    Product ids that are not imported items are left out: placeholders and inactive products
    silently, ids the register does not know with a warning.
    """
    groups: list[MappedDisplayGroup] = []
    seen: set[str] = set()
    ordered = sorted(enumerate(selections), key=lambda pair: (pair[1].sort, pair[0]))
    for _, selection in ordered:
        if selection.id in seen:
            issues.skip("display_groups")
            issues.warn(
                "display_groups",
                f"selection {selection.id!r} appears twice; the first one is kept",
            )
            continue
        seen.add(selection.id)
        unknown = [pid for pid in selection.product_ids if pid not in all_product_ids]
        if unknown:
            issues.warn(
                "display_groups",
                f"selection {selection.id!r} lists {len(unknown)} unknown product(s) "
                f"({', '.join(repr(pid) for pid in unknown[:5])}); they are left out",
            )
        members = tuple(dict.fromkeys(pid for pid in selection.product_ids if pid in item_ids))
        groups.append(MappedDisplayGroup(selection.id, selection.name, selection.sort, members))
    return groups
