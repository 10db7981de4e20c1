"""The stock refresh: a light job that reads stock from the register and updates inventory
and each item's ``available`` flag, without touching the menu's structure.

One ``GetAllProducts`` call; only each product's ``id`` and ``stock`` are read (a product the
full import would skip is still matched by id). For each of the provider's items:

- its inventory record's ``quantity`` (and ``updated_at``) moves when the register's stock
  differs; a missing record is created;
- ``available`` is ``false`` at stock 0 (or below), ``true`` otherwise (``null`` stock: not
  tracked, available); written only when it changes.

Nothing else is written: no category, item field, modifier group, display group or menu, no
item is created or deleted (the import does that). Writes are unordered bulk writes of at
most 1,000 operations, outside any transaction.

``settings.stock_refresh_minutes`` (default ``STOCK_REFRESH_DEFAULT_MINUTES`` = 5; ``null``
turns it off) says how often ``RefreshDueKassanetStockJob`` (every minute, ``default``
queue) refreshes a connected integration; ``POST .../refresh-stock`` runs it now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from pymongo import UpdateOne

from integrations.repository import CONNECTED, SYNC_IN_PROGRESS, Integration
from menus.repository import InventoryRepository, ItemRepository
from upvendo.mongo import get_db

if TYPE_CHECKING:
    from integrations.services import AbstractKassanetService

__all__ = ["STOCK_REFRESH_DEFAULT_MINUTES", "StockRefresh", "due_integrations", "refresh_stock"]

logger = logging.getLogger(__name__)

STOCK_REFRESH_DEFAULT_MINUTES = 5
BATCH = 1000
LOG_EVENT = "stock_refresh"


@dataclass(frozen=True)
class StockRefresh:
    products: int  # what the register listed
    items: int  # the provider's items matched by id
    inventory_updated: int
    inventory_created: int
    availability_changed: int
    unavailable: int

    def as_dict(self) -> dict[str, int]:
        return {
            "products": self.products,
            "items": self.items,
            "inventory_updated": self.inventory_updated,
            "inventory_created": self.inventory_created,
            "availability_changed": self.availability_changed,
            "unavailable": self.unavailable,
        }


def stock_refresh_minutes(integration: Integration) -> int | None:
    settings = integration.settings
    if "stock_refresh_minutes" not in settings:
        return STOCK_REFRESH_DEFAULT_MINUTES
    value = settings["stock_refresh_minutes"]
    return None if value is None else int(value)


def _stock_by_id(raw: list[Any]) -> dict[str, int | None]:
    stock: dict[str, int | None] = {}
    for product in raw:
        if not isinstance(product, dict):
            continue
        pid = product.get("id")
        if isinstance(pid, bool) or not isinstance(pid, str | int):
            continue
        value = product.get("stock")
        quantity = value if isinstance(value, int) and not isinstance(value, bool) else None
        stock.setdefault(str(pid), quantity)  # the first of repeated ids, as the import
    return stock


def _flush(collection: Any, ops: list[UpdateOne]) -> None:
    for start in range(0, len(ops), BATCH):
        collection.bulk_write(ops[start : start + BATCH], ordered=False)


def refresh_stock(service: AbstractKassanetService, integration: Integration) -> StockRefresh:
    """Read the register's stock and update inventory and availability (kassanet errors
    pass to the caller; nothing is written then)."""
    with service.client(integration) as client:
        raw = client.get_all_products_raw()
    stock = _stock_by_id(raw)
    provider = integration.provider
    location_id = integration.location_id
    query = {"location_id": location_id, "imported_by": provider}
    items_collection = ItemRepository().collection
    inventory_collection = InventoryRepository().collection
    inventory = {
        doc["item_id"]: doc
        for doc in inventory_collection.find(query, {"item_id": 1, "quantity": 1})
    }
    now = datetime.now(UTC)
    item_ops: list[UpdateOne] = []
    inventory_ops: list[UpdateOne] = []
    matched = created = updated = unavailable = 0
    for item in items_collection.find(query, {f"external_ids.{provider}": 1, "available": 1}):
        key = (item.get("external_ids") or {}).get(provider)
        if key is None or str(key) not in stock:
            continue  # gone from the register: the next import removes it
        matched += 1
        quantity = stock[str(key)]
        available = quantity is None or quantity > 0
        unavailable += not available
        if item.get("available", True) is not available:  # no flag yet: available
            item_ops.append(UpdateOne({"_id": item["_id"]}, {"$set": {"available": available}}))
        item_id = str(item["_id"])
        record = inventory.get(item_id)
        if record is None:
            created += 1
            inventory_ops.append(
                UpdateOne(
                    {"location_id": location_id, "item_id": item_id},
                    {
                        "$set": {"quantity": quantity, "updated_at": now},
                        "$setOnInsert": {"_id": ObjectId(), "imported_by": provider},
                    },
                    upsert=True,
                )
            )
        elif record.get("quantity") != quantity:
            updated += 1
            inventory_ops.append(
                UpdateOne(
                    {"_id": record["_id"]}, {"$set": {"quantity": quantity, "updated_at": now}}
                )
            )
    _flush(items_collection, item_ops)
    _flush(inventory_collection, inventory_ops)
    result = StockRefresh(len(stock), matched, updated, created, len(item_ops), unavailable)
    service.integrations.update_settings(integration.id, stock_refreshed_at=now)
    if item_ops or inventory_ops:
        service.integrations.append_log(
            integration.id,
            "info",
            LOG_EVENT,
            f"Stock refreshed: {updated + created} stock level(s) changed, "
            f"{len(item_ops)} item(s) changed availability ({unavailable} sold out).",
        )
    return result


def due_integrations(now: datetime) -> list[tuple[str, datetime | None]]:
    """Connected integrations whose stock refresh is due, with the ``stock_refreshed_at``
    they were read with (the claim is conditional on it); none while an import runs."""
    due = []
    cursor = get_db()["integrations"].find(
        {"connection.status": CONNECTED, "sync_status.status": {"$ne": SYNC_IN_PROGRESS}},
        {"settings": 1},
    )
    for doc in cursor:
        settings = doc.get("settings") or {}
        minutes = settings.get("stock_refresh_minutes", STOCK_REFRESH_DEFAULT_MINUTES)
        if minutes is None:
            continue
        last = settings.get("stock_refreshed_at")
        if last is None or last <= now - timedelta(minutes=int(minutes)):
            due.append((str(doc["_id"]), last))
    return due


def claim_refresh(integration_id: str, last: datetime | None, now: datetime) -> bool:
    """Move ``stock_refreshed_at`` from ``last`` to ``now``: of two ticks, one wins."""
    result = get_db()["integrations"].update_one(
        {"_id": ObjectId(integration_id), "settings.stock_refreshed_at": last},
        {"$set": {"settings.stock_refreshed_at": now}},
    )
    return result.modified_count == 1
