"""Local edits of the imported menu: what a restaurant changes in Upvendo, kept by every import.

- an item's ``description`` and ``display_order`` (``PATCH .../items/{itemId}``);
- the item order of a display group (``PATCH .../display-groups/{groupId}`` with
  ``{"item_ids": [...]}``), stored as the group's local ``item_order``: the group's items in
  that order first, then any item the register added since, in the register's order.

The import never writes these fields (menus/diff.py compares and writes only its own), so a
re-import keeps them. POS-owned fields (name, price, kitchen name, PLU, VAT, modifiers ...)
are read-only: a change is a 400 naming the field. Menu edits are admin actions (the
`admin` role, ``VendorPermission``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ReturnDocument

from locations.repository import object_id
from menus.repository import DisplayGroupRepository, ItemRepository

__all__ = [
    "POS_OWNED_ITEM_FIELDS",
    "EditError",
    "effective_item_ids",
    "reorder_display_group",
    "update_item",
]

POS_OWNED_ITEM_FIELDS = (
    "name",
    "kitchen_name",
    "price",
    "plu",
    "vat_rate",
    "category_id",
    "modifier_group_ids",
    "modifier_groups",
    "modifiers",
    "external_ids",
    "imported_by",
    "location_id",
)
POS_OWNED_MESSAGE = "This field comes from the register (POS) and cannot be changed here."


class EditError(ValueError):
    """What is wrong with an edit, per field (a 400)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def update_item(location_id: str, item_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
    """``$set`` the local fields of one of the location's items; None when there is none."""
    oid = object_id(item_id)
    if oid is None:
        return None
    if not fields:
        return ItemRepository().collection.find_one({"_id": oid, "location_id": location_id})
    return ItemRepository().collection.find_one_and_update(
        {"_id": oid, "location_id": location_id},
        {"$set": fields},
        return_document=ReturnDocument.AFTER,
    )


def effective_item_ids(group: dict[str, Any]) -> list[str]:
    """The group's items in the local order (``item_order``), then the others."""
    item_ids = [str(i) for i in group.get("item_ids") or []]
    order = group.get("item_order")
    if not order:
        return item_ids
    present = set(item_ids)
    ordered = [i for i in dict.fromkeys(str(i) for i in order) if i in present]
    placed = set(ordered)
    return ordered + [i for i in item_ids if i not in placed]


def reorder_display_group(
    location_id: str, group_id: str, item_ids: Sequence[str]
) -> dict[str, Any] | None:
    """Store the local item order of a display group; ``item_ids`` must list exactly the
    group's items (EditError otherwise). None when the location has no such group."""
    oid = object_id(group_id)
    collection = DisplayGroupRepository().collection
    group = collection.find_one({"_id": oid, "location_id": location_id}) if oid else None
    if group is None:
        return None
    current = [str(i) for i in group.get("item_ids") or []]
    wanted = [str(i) for i in item_ids]
    duplicates = sorted({i for i in wanted if wanted.count(i) > 1})
    missing = [i for i in current if i not in set(wanted)]
    unknown = [i for i in wanted if i not in set(current)]
    if duplicates or missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing: {', '.join(missing[:10])}")
        if unknown:
            problems.append(f"not in this group: {', '.join(unknown[:10])}")
        if duplicates:
            problems.append(f"listed twice: {', '.join(duplicates[:10])}")
        raise EditError(
            {
                "item_ids": [
                    f"List each of the group's {len(current)} item ids exactly once "
                    f"({'; '.join(problems)})."
                ]
            }
        )
    return collection.find_one_and_update(
        {"_id": oid, "location_id": location_id},
        {"$set": {"item_order": wanted}},
        return_document=ReturnDocument.AFTER,
    )
