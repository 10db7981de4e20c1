"""Domain events other parts of the platform react to.

`ReloadMenu` tells the ordering front-ends (kiosks, online ordering) that a location's menu
changed wholesale and must be reloaded. It is stored in the `events` collection (an audit
trail that outlives Redis) and published on the Redis channel `key("events", "ReloadMenu")`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from upvendo.mongo import get_db
from upvendo.redis import get_redis, key

EVENTS_COLLECTION = "events"
RELOAD_MENU = "ReloadMenu"


def reload_menu_channel() -> str:
    return key("events", RELOAD_MENU)


def emit_reload_menu(location_id: str, provider: str, reason: str) -> dict[str, Any]:
    """Store and publish a ReloadMenu event; returns the stored event (without `_id`)."""
    event: dict[str, Any] = {
        "type": RELOAD_MENU,
        "location_id": location_id,
        "provider": provider,
        "reason": reason,
        "created_at": datetime.now(UTC),
    }
    get_db()[EVENTS_COLLECTION].insert_one(dict(event))
    get_redis().publish(
        reload_menu_channel(), json.dumps(event | {"created_at": event["created_at"].isoformat()})
    )
    return event
