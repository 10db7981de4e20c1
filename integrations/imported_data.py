"""Where the records that an import creates live, and how a disconnect removes them.

Every imported record carries `location_id` (str) and `imported_by` (the provider). A feature
that adds another imported collection appends it to `IMPORTED_COLLECTIONS`.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from upvendo.mongo import get_db

IMPORTED_COLLECTIONS: tuple[str, ...] = (
    "categories",
    "items",
    "modifier_groups",
    "display_groups",
    "menus",
    "inventory",
    "table_sections",
)


def delete_imported(
    location_id: str, provider: str, db: Database[dict[str, Any]] | None = None
) -> dict[str, int]:
    """Delete what `provider` imported for the location; returns the count per collection.

    Only records carrying both the location and `imported_by == provider` go: records made by
    hand, or imported by the other provider, stay.
    """
    db = get_db() if db is None else db
    query = {"location_id": location_id, "imported_by": provider}
    return {name: db[name].delete_many(query).deleted_count for name in IMPORTED_COLLECTIONS}
