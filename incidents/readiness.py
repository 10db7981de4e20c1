"""Whether a location should take orders now (kiosks and the webshop poll it).

Not ready when:
- no register is set up, or every register is disconnected for longer than
  READINESS_DISCONNECTED_GRACE_MINUTES (since the disconnection started: the connection
  watch, else the status' own time);
- the location has no menu yet (no item);
- more than READINESS_MAX_WAITING_ORDERS orders wait for the register (`need_requeue`).

One aggregation on `locations` (one round trip): the location by `_id` and vendor, with
lookups on indexed fields only (integrations by location, one item, the watches, at most
N + 1 waiting orders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings

from incidents.repository import WATCHES
from integrations.repository import CONNECTED
from upvendo.mongo import get_db

CHANNELS = ("kiosk", "online", "table_qr")


@dataclass(frozen=True)
class Readiness:
    accepting_orders: bool
    channels: dict[str, bool]
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepting_orders": self.accepting_orders,
            "channels": self.channels,
            "reasons": self.reasons,
        }


def _pipeline(location_oid: ObjectId, vendor_id: str | None, limit: int) -> list[dict[str, Any]]:
    match: dict[str, Any] = {"_id": location_oid}
    if vendor_id is not None:
        match["vendor_id"] = vendor_id
    location_id = str(location_oid)
    return [
        {"$match": match},
        {"$project": {"name": 1}},
        {
            "$lookup": {
                "from": "integrations",
                "pipeline": [
                    {"$match": {"location_id": location_id}},
                    {"$project": {"provider": 1, "connection": 1}},
                ],
                "as": "integrations",
            }
        },
        {
            "$lookup": {
                "from": "items",
                "pipeline": [
                    {"$match": {"location_id": location_id}},
                    {"$limit": 1},
                    {"$project": {"_id": 1}},
                ],
                "as": "items",
            }
        },
        {
            "$lookup": {
                "from": WATCHES,
                "pipeline": [{"$match": {"location_id": location_id}}],
                "as": "watches",
            }
        },
        {
            "$lookup": {
                "from": "transactions",
                "pipeline": [
                    {"$match": {"location_id": location_id, "pos_status": "need_requeue"}},
                    {"$limit": limit + 1},
                    {"$project": {"_id": 1}},
                ],
                "as": "waiting",
            }
        },
    ]


def readiness(
    location_id: str, vendor_id: str | None = None, *, now: datetime | None = None
) -> Readiness | None:
    """The location's readiness; None when it does not exist (or is another vendor's)."""
    try:
        oid = ObjectId(location_id)
    except Exception:
        return None
    limit = settings.READINESS_MAX_WAITING_ORDERS
    docs = list(get_db()["locations"].aggregate(_pipeline(oid, vendor_id, limit)))
    if not docs:
        return None
    doc = docs[0]
    now = now or datetime.now(UTC)
    grace = timedelta(minutes=settings.READINESS_DISCONNECTED_GRACE_MINUTES)
    reasons: list[str] = []
    integrations = doc["integrations"]
    watches = {w["_id"]: w["since"] for w in doc["watches"]}
    if not integrations:
        reasons.append("No register is set up for this location.")
    elif not any(i.get("connection", {}).get("status") == CONNECTED for i in integrations):
        since = min(
            watches.get(str(i["_id"])) or i.get("connection", {}).get("updated_at") or now
            for i in integrations
        )
        if now - since > grace:
            minutes = (now - since).total_seconds() / 60
            reasons.append(
                f"The register has been disconnected for {minutes:.0f} min; orders would not "
                "reach the kitchen."
            )
    if not doc["items"]:
        reasons.append("There is no menu yet: sync the menu from the register.")
    waiting = len(doc["waiting"])
    if waiting > limit:
        reasons.append(
            f"More than {limit} orders are waiting for the register; new orders would wait too."
        )
    ready = not reasons
    return Readiness(ready, dict.fromkeys(CHANNELS, ready), reasons)
