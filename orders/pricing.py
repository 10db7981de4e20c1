"""Price an order from the location's current menu, exactly (Decimal), line by line.

Reads the records the menu import writes (docs/menu-import.md): `items` (`price` as
Decimal128, `modifier_group_ids`, `external_ids.{provider}`) and `modifier_groups` (`name`,
`min`, `max`) with their embedded `modifiers` (`id`, `price`, `external_ids.{provider}`).

A line is valued as every register values it (protocol page, section 6): a modifier's
quantity is **per unit** of its line, so a line is worth
`quantity x (unit_price + sum(modifier.unit_price x modifier.quantity))` (`kassanet.line_total`).

Each of the item's modifier groups is checked here, before the customer pays, because a
register cannot be trusted to refuse a bad order: the options chosen in a group (the sum of
their per-unit quantities) must be at least its `min` and at most its `max` (a `max` of 0
means no upper bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from kassanet import line_total
from locations.repository import object_id
from orders.repository import to_decimal
from upvendo.mongo import get_db

ITEMS = "items"
MODIFIER_GROUPS = "modifier_groups"


@dataclass(frozen=True)
class ModifierRequest:
    modifier_id: str
    quantity: int


@dataclass(frozen=True)
class LineRequest:
    item_id: str
    quantity: int
    modifiers: Sequence[ModifierRequest] = ()
    note: str = ""


PRICING_RULE = "per_unit"
"""Stored on every order priced by this module (`pricing_rule`). Orders stored without it were
priced under the old rule (a modifier counted once per line); see `legacy_total`."""


@dataclass(frozen=True)
class PricedOrder:
    lines: list[dict[str, Any]]
    total: Decimal


def stored_line_total(line: dict[str, Any]) -> Decimal:
    """The per-unit value of a stored order line (Decimal prices, as the repository reads them)."""
    return line_total(
        line["quantity"],
        line["unit_price"],
        ((m["unit_price"], m["quantity"]) for m in line["modifiers"]),
    )


def _options(count: int) -> str:
    return f"{count} option" if count == 1 else f"{count} options"


def group_rule_errors(group: dict[str, Any], chosen: int) -> list[str]:
    """What is wrong with choosing `chosen` options in a modifier group, in the page's words."""
    name = group.get("name") or "a modifier group"
    minimum, maximum = int(group.get("min") or 0), int(group.get("max") or 0)
    if chosen < minimum:
        return [f"Choose at least {_options(minimum)} in '{name}'."]
    if maximum > 0 and chosen > maximum:
        return [f"Choose at most {_options(maximum)} in '{name}'."]
    return []


@dataclass
class PricingError(Exception):
    """What is wrong, per line index and field: `{2: {"modifiers": ["..."]}}`."""

    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, index: int, name: str, message: str) -> None:
        self.errors.setdefault(index, {}).setdefault(name, []).append(message)


class MenuPricer:
    """Looks items and modifiers up in the location's menu and prices order lines."""

    def __init__(self, db: Database[dict[str, Any]] | None = None) -> None:
        self._db = db if db is not None else get_db()

    def price(self, location_id: str, lines: Sequence[LineRequest]) -> PricedOrder:
        """The priced lines and total; raises PricingError naming every bad line."""
        items = self._items(location_id, [line.item_id for line in lines])
        group_ids = {gid for item in items.values() for gid in item.get("modifier_group_ids", [])}
        groups = self._modifier_groups(location_id, group_ids)
        error = PricingError()
        priced: list[dict[str, Any]] = []
        for index, line in enumerate(lines):
            item = items.get(line.item_id)
            if item is None:
                error.add(index, "item_id", f"Unknown item {line.item_id!r} for this location.")
                continue
            item_groups = [
                (str(gid), groups[str(gid)])
                for gid in item.get("modifier_group_ids", [])
                if str(gid) in groups
            ]
            allowed = {
                modifier["id"]: (gid, modifier)
                for gid, group in item_groups
                for modifier in group.get("modifiers", [])
            }
            chosen: dict[str, int] = {}
            modifiers = []
            for requested in line.modifiers:
                found = allowed.get(requested.modifier_id)
                if found is None:
                    error.add(
                        index,
                        "modifiers",
                        f"Modifier {requested.modifier_id!r} is not in a modifier group of "
                        f"item {item['name']!r}.",
                    )
                    continue
                gid, modifier = found
                chosen[gid] = chosen.get(gid, 0) + requested.quantity
                modifiers.append(
                    {
                        "modifier_id": requested.modifier_id,
                        "name": modifier.get("name", ""),
                        "quantity": requested.quantity,
                        "unit_price": to_decimal(modifier["price"]),
                        "external_ids": dict(modifier.get("external_ids") or {}),
                    }
                )
            for gid, group in item_groups:
                for message in group_rule_errors(group, chosen.get(gid, 0)):
                    error.add(index, "modifiers", message)
            unit_price = to_decimal(item["price"])
            total = line_total(
                line.quantity, unit_price, ((m["unit_price"], m["quantity"]) for m in modifiers)
            )
            priced.append(
                {
                    "item_id": line.item_id,
                    "name": item["name"],
                    "quantity": line.quantity,
                    "unit_price": unit_price,
                    "modifiers": modifiers,
                    "note": line.note,
                    "external_ids": dict(item.get("external_ids") or {}),
                    "total": total,
                }
            )
        if error.errors:
            raise error
        return PricedOrder(priced, sum((line["total"] for line in priced), Decimal(0)))

    def _items(self, location_id: str, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        oids = [oid for oid in (object_id(i) for i in set(item_ids)) if oid is not None]
        cursor = self._db[ITEMS].find(
            {"_id": {"$in": oids}, "location_id": location_id},
            {"name": 1, "price": 1, "modifier_group_ids": 1, "external_ids": 1},
        )
        return {str(doc["_id"]): doc for doc in cursor}

    def _modifier_groups(self, location_id: str, group_ids: set[str]) -> dict[str, dict[str, Any]]:
        oids: list[ObjectId | str] = []
        for gid in group_ids:
            oid = object_id(str(gid))
            oids.append(oid if oid is not None else str(gid))
        cursor = self._db[MODIFIER_GROUPS].find(
            {"_id": {"$in": oids}, "location_id": location_id},
            {"name": 1, "min": 1, "max": 1, "modifiers": 1},
        )
        return {str(doc["_id"]): doc for doc in cursor}
