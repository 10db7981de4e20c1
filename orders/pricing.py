"""Price an order from the location's current menu, exactly (Decimal), line by line.

Reads the records the menu import writes (docs/menu-import.md): `items` (`price` as
Decimal128, `modifier_group_ids`, `external_ids.{provider}`) and `modifier_groups` with their
embedded `modifiers` (`id`, `price`, `external_ids.{provider}`). A line is valued as the
register values it: `unit_price * quantity + sum(modifier.unit_price * modifier.quantity)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bson import ObjectId
from pymongo.database import Database

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


@dataclass(frozen=True)
class PricedOrder:
    lines: list[dict[str, Any]]
    total: Decimal


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
            allowed = {
                modifier["id"]: modifier
                for gid in item.get("modifier_group_ids", [])
                for modifier in groups.get(str(gid), {}).get("modifiers", [])
            }
            modifiers = []
            for requested in line.modifiers:
                modifier = allowed.get(requested.modifier_id)
                if modifier is None:
                    error.add(
                        index,
                        "modifiers",
                        f"Modifier {requested.modifier_id!r} is not in a modifier group of "
                        f"item {item['name']!r}.",
                    )
                    continue
                modifiers.append(
                    {
                        "modifier_id": requested.modifier_id,
                        "name": modifier.get("name", ""),
                        "quantity": requested.quantity,
                        "unit_price": to_decimal(modifier["price"]),
                        "external_ids": dict(modifier.get("external_ids") or {}),
                    }
                )
            unit_price = to_decimal(item["price"])
            total = unit_price * line.quantity + sum(
                (m["unit_price"] * m["quantity"] for m in modifiers), Decimal(0)
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
            {"_id": {"$in": oids}, "location_id": location_id}, {"modifiers": 1}
        )
        return {str(doc["_id"]): doc for doc in cursor}
