"""Compare the menu the register describes with the records already stored: the change set.

Pure functions. Each ``plan_*`` function takes the mapped records (:mod:`menus.mapping`), the
provider's existing documents of one collection and the ids of the records it refers to, and
returns an :class:`EntityPlan`: the operations that turn the stored records into the desired
ones, and the ``_id`` of every desired record (existing ids are kept, so orders that refer to
an item keep working; new records get their id here, so that references between new records
can be written in the same transaction).

Only the import's own fields are compared and written; ``description``, ``image`` and
``display_order`` are set to defaults when a record is created and never touched again. An
unchanged register gives plans without operations, so a re-import writes nothing.

Money is stored as ``Decimal128`` with exactly two decimals (``Decimal128("12.50")``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId

from menus.mapping import (
    MappedCategory,
    MappedDisplayGroup,
    MappedItem,
    MappedModifierGroup,
)

__all__ = [
    "LOCAL_FIELDS",
    "EntityPlan",
    "PlanContext",
    "external_key",
    "money",
    "plan_categories",
    "plan_display_groups",
    "plan_inventory",
    "plan_items",
    "plan_menu",
    "plan_modifier_groups",
]

# Fields a platform user edits; the import creates them empty and never overwrites them.
LOCAL_FIELDS: dict[str, Any] = {"description": "", "image": None, "display_order": None}
MENU_KEY = "menu"
_CENT = Decimal("0.01")
_MISSING = object()


def money(amount: Decimal) -> Decimal128:
    """An amount as stored: ``Decimal128`` with two decimals."""
    return Decimal128(amount.quantize(_CENT))


@dataclass(frozen=True)
class PlanContext:
    location_id: str
    provider: str
    new_id: Callable[[], ObjectId] = ObjectId

    def base_fields(self) -> dict[str, Any]:
        return {"location_id": self.location_id, "imported_by": self.provider}


@dataclass
class EntityPlan:
    """Operations for one collection, as BSON-storable dicts, and the desired records' ids.

    An operation is ``{"op": "create", "_id", "key", "fields", "defaults"}``,
    ``{"op": "update", "_id", "key", "fields", "old", "name"}`` (only the changed fields, and their
    stored values for the report) or ``{"op": "delete", "_id", "key", "name"}``. ``key`` is the register id (the item id for inventory).
    """

    entity: str
    ops: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, ObjectId] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "deleted": 0}
        for op in self.ops:
            counts[{"create": "created", "update": "updated", "delete": "deleted"}[op["op"]]] += 1
        return counts


def external_key(provider: str) -> Callable[[Mapping[str, Any]], str | None]:
    def key(doc: Mapping[str, Any]) -> str | None:
        value = (doc.get("external_ids") or {}).get(provider)
        return None if value is None else str(value)

    return key


def _index(
    existing: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], str | None]
) -> dict[str, Mapping[str, Any]]:
    """Existing documents by key; documents without one are not the import's to manage."""
    indexed: dict[str, Mapping[str, Any]] = {}
    for doc in existing:
        value = key(doc)
        if value is not None:
            indexed.setdefault(value, doc)
    return indexed


def _assign_ids(
    keys: Iterable[str], existing: Mapping[str, Mapping[str, Any]], ctx: PlanContext
) -> dict[str, ObjectId]:
    return {k: existing[k]["_id"] if k in existing else ctx.new_id() for k in keys}


def _diff(
    entity: str,
    desired: Mapping[str, dict[str, Any]],
    existing: Mapping[str, Mapping[str, Any]],
    ids: dict[str, ObjectId],
    *,
    defaults: Mapping[str, Any] | None = None,
    touch: Mapping[str, Any] | None = None,
    reset: tuple[str, ...] = (),
) -> EntityPlan:
    """Create what is new, update the changed fields of what exists, delete what is gone."""
    plan = EntityPlan(entity, ids=ids)
    for key, fields in desired.items():
        doc = existing.get(key)
        if doc is None:
            plan.ops.append(
                {
                    "op": "create",
                    "_id": ids[key],
                    "key": key,
                    "fields": {**fields, **(touch or {})},
                    "defaults": dict(defaults or {}),
                }
            )
            continue
        changed = {
            name: value for name, value in fields.items() if doc.get(name, _MISSING) != value
        }
        for flag in reset:  # a flag a restore set, that the register's answer clears
            if doc.get(flag):
                changed[flag] = False
        if changed:
            plan.ops.append(
                {
                    "op": "update",
                    "_id": doc["_id"],
                    "key": key,
                    "fields": {**changed, **(touch or {})},
                    "old": {name: doc.get(name) for name in changed},
                    "name": doc.get("name"),
                }
            )
    plan.ops.extend(
        {"op": "delete", "_id": doc["_id"], "key": key, "name": doc.get("name")}
        for key, doc in existing.items()
        if key not in desired
    )
    return plan


def plan_categories(
    ctx: PlanContext,
    categories: Mapping[str, MappedCategory],
    existing: Iterable[Mapping[str, Any]],
) -> EntityPlan:
    indexed = _index(existing, external_key(ctx.provider))
    ids = _assign_ids(categories, indexed, ctx)
    desired = {
        key: {
            **ctx.base_fields(),
            "name": category.name,
            "parent_id": None
            if category.parent_external_id is None
            else str(ids[category.parent_external_id]),
        }
        for key, category in categories.items()
    }
    return _diff("categories", desired, indexed, ids, defaults=LOCAL_FIELDS)


def plan_modifier_groups(
    ctx: PlanContext,
    groups: Mapping[str, MappedModifierGroup],
    existing: Iterable[Mapping[str, Any]],
) -> EntityPlan:
    """Modifier groups with their modifiers embedded; a modifier keeps its ``id`` across
    imports (matched by its register id inside the group)."""
    indexed = _index(existing, external_key(ctx.provider))
    ids = _assign_ids(groups, indexed, ctx)
    desired: dict[str, dict[str, Any]] = {}
    for key, group in groups.items():
        old_modifiers = {
            (m.get("external_ids") or {}).get(ctx.provider): m["id"]
            for m in (indexed[key].get("modifiers") or [] if key in indexed else [])
        }
        modifiers = [
            {
                "id": old_modifiers.get(m.external_id) or str(ctx.new_id()),
                "name": m.name,
                "kitchen_name": m.kitchen_name,
                "price": money(m.price),
                "external_ids": {ctx.provider: m.external_id},
            }
            for m in group.modifiers
        ]
        desired[key] = {
            **ctx.base_fields(),
            "name": group.name,
            "min": group.min,
            "max": group.max,
            "modifiers": modifiers,
        }
    return _diff("modifier_groups", desired, indexed, ids)


def plan_items(
    ctx: PlanContext,
    items: Mapping[str, MappedItem],
    existing: Iterable[Mapping[str, Any]],
    category_ids: Mapping[str, ObjectId],
    modifier_group_ids: Mapping[str, ObjectId],
) -> EntityPlan:
    indexed = _index(existing, external_key(ctx.provider))
    ids = _assign_ids(items, indexed, ctx)
    desired = {
        key: {
            **ctx.base_fields(),
            "name": item.name,
            "kitchen_name": item.kitchen_name,
            "price": money(item.price),
            "plu": item.plu,
            "vat_rate": None if item.vat_rate is None else money(item.vat_rate),
            "category_id": None
            if item.category_external_id is None
            else str(category_ids[item.category_external_id]),
            "modifier_group_ids": [
                str(modifier_group_ids[g]) for g in item.modifier_group_external_ids
            ],
        }
        for key, item in items.items()
    }
    return _diff("items", desired, indexed, ids, defaults=LOCAL_FIELDS, reset=("register_missing",))


def plan_display_groups(
    ctx: PlanContext,
    groups: Iterable[MappedDisplayGroup],
    existing: Iterable[Mapping[str, Any]],
    item_ids: Mapping[str, ObjectId],
) -> EntityPlan:
    indexed = _index(existing, external_key(ctx.provider))
    ordered = {group.external_id: group for group in groups}
    ids = _assign_ids(ordered, indexed, ctx)
    desired = {
        key: {
            **ctx.base_fields(),
            "name": group.name,
            "sort": group.sort,
            "item_ids": [str(item_ids[i]) for i in group.item_external_ids],
        }
        for key, group in ordered.items()
    }
    return _diff("display_groups", desired, indexed, ids, defaults=LOCAL_FIELDS)


def plan_menu(
    ctx: PlanContext,
    name: str,
    existing: Iterable[Mapping[str, Any]],
    display_group_ids: Iterable[ObjectId],
) -> EntityPlan:
    """The provider's one menu, holding its display groups in order."""
    indexed = _index(existing, lambda doc: MENU_KEY)
    ids = _assign_ids([MENU_KEY], indexed, ctx)
    desired = {
        MENU_KEY: {
            **ctx.base_fields(),
            "name": name,
            "display_group_ids": [str(i) for i in display_group_ids],
        }
    }
    return _diff("menus", desired, indexed, ids)


def plan_inventory(
    ctx: PlanContext,
    stock: Mapping[str, int | None],
    existing: Iterable[Mapping[str, Any]],
    item_ids: Mapping[str, ObjectId],
    now: datetime,
) -> EntityPlan:
    """Stock per imported item (``stock``: register id -> quantity, None = not tracked);
    ``updated_at`` moves only when the quantity does."""
    indexed = _index(existing, lambda doc: doc.get("item_id"))
    desired = {
        str(item_ids[key]): {
            **ctx.base_fields(),
            "item_id": str(item_ids[key]),
            "quantity": quantity,
        }
        for key, quantity in stock.items()
    }
    ids = _assign_ids(desired, indexed, ctx)
    return _diff("inventory", desired, indexed, ids, touch={"updated_at": now})
