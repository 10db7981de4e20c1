"""The support view's data: every location of every vendor, and one location's diagnosis.

Nothing here ever includes a secret: integrations are read without their credentials'
encrypted part (only `base_url`), messages and logs are the redacted texts already stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from accounts.models import Vendor
from incidents.readiness import readiness
from incidents.repository import OPEN, IncidentRepository
from integrations.repository import CONNECTED, IntegrationRepository
from locations.repository import LocationRepository, object_id
from upvendo.mongo import get_db

SYNC_LOG_EVENT = "menu_import"
MAX_ORDERS = 20
MAX_LOG = 20
SORTS = ("trouble", "name")

_INTEGRATION_FIELDS = {
    "location_id": 1,
    "provider": 1,
    "connection": 1,
    "sync_status.status": 1,
    "sync_status.message": 1,
    "sync_status.last_sync": 1,
    "credentials.base_url": 1,
}


@dataclass(frozen=True)
class FleetQuery:
    q: str = ""
    provider: str | None = None
    connection: str | None = None  # connected | disconnected
    trouble_only: bool = False
    sort: str = "trouble"


def _age_seconds(since: datetime | None, now: datetime) -> int | None:
    return int((now - since).total_seconds()) if since else None


def trouble_score(row: dict[str, Any]) -> int:
    """How urgently support should look: outages first, then incidents, then orders."""
    disconnected = sum(p["connection_status"] != CONNECTED for p in row["providers"])
    sync_errors = sum(p["sync_status"] == "error" for p in row["providers"])
    return (
        1000 * disconnected
        + 100 * row["open_incidents"]
        + 50 * sync_errors
        + 10 * row["failed_orders"]
        + row["waiting_orders"]
    )


def fleet(query: FleetQuery, *, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    db = get_db()
    vendors = {str(v.pk): v.name for v in Vendor.objects.all()}
    locations = list(db["locations"].find({}, {"vendor_id": 1, "name": 1}))
    integrations: dict[str, list[dict[str, Any]]] = {}
    for doc in db["integrations"].find({}, _INTEGRATION_FIELDS).sort("provider", 1):
        integrations.setdefault(doc["location_id"], []).append(doc)
    orders: dict[tuple[str, str], dict[str, Any]] = {
        (doc["_id"]["location_id"], doc["_id"]["status"]): doc
        for doc in db["transactions"].aggregate(
            [
                {"$match": {"pos_status": {"$in": ["failed", "need_requeue"]}}},
                {
                    "$group": {
                        "_id": {"location_id": "$location_id", "status": "$pos_status"},
                        "count": {"$sum": 1},
                        "oldest": {"$min": "$created_at"},
                    }
                },
            ]
        )
    }
    incidents: dict[str, list[str]] = {}
    for incident in IncidentRepository().list_open():
        incidents.setdefault(incident.location_id, []).append(incident.kind)
    needle = query.q.strip().lower()
    rows = []
    for location in locations:
        location_id = str(location["_id"])
        vendor_name = vendors.get(location["vendor_id"], "")
        if needle and needle not in location["name"].lower() and needle not in vendor_name.lower():
            continue
        providers = [
            {
                "provider": doc["provider"],
                "connection_status": doc.get("connection", {}).get("status"),
                "connection_message": doc.get("connection", {}).get("message", ""),
                "connection_updated_at": doc.get("connection", {}).get("updated_at"),
                "sync_status": doc.get("sync_status", {}).get("status"),
                "sync_message": doc.get("sync_status", {}).get("message", ""),
                "last_sync": doc.get("sync_status", {}).get("last_sync"),
            }
            for doc in integrations.get(location_id, [])
        ]
        if query.provider and query.provider not in {p["provider"] for p in providers}:
            continue
        if query.connection and query.connection not in {p["connection_status"] for p in providers}:
            continue
        failed = orders.get((location_id, "failed"), {})
        waiting = orders.get((location_id, "need_requeue"), {})
        row: dict[str, Any] = {
            "location_id": location_id,
            "location_name": location["name"],
            "vendor_id": location["vendor_id"],
            "vendor_name": vendor_name,
            "providers": providers,
            "open_incidents": len(incidents.get(location_id, [])),
            "incident_kinds": sorted(incidents.get(location_id, [])),
            "failed_orders": failed.get("count", 0),
            "oldest_failed_age_seconds": _age_seconds(failed.get("oldest"), now),
            "waiting_orders": waiting.get("count", 0),
            "oldest_waiting_age_seconds": _age_seconds(waiting.get("oldest"), now),
        }
        row["trouble"] = trouble_score(row)
        if query.trouble_only and not row["trouble"]:
            continue
        rows.append(row)
    if query.sort == "name":
        rows.sort(key=lambda r: (r["location_name"].lower(), r["location_id"]))
    else:
        rows.sort(key=lambda r: (-r["trouble"], r["location_name"].lower(), r["location_id"]))
    return rows


def diagnosis(location_id: str, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The product documentation's checklist for one location, as data."""
    now = now or datetime.now(UTC)
    location = LocationRepository().get(location_id)
    if location is None:
        return None
    db = get_db()
    vendor = (
        Vendor.objects.filter(pk=location.vendor_id).first()
        if location.vendor_id.isdigit()
        else None
    )
    repository = IntegrationRepository()
    integrations = []
    for doc in (
        db["integrations"]
        .find({"location_id": location.id}, _INTEGRATION_FIELDS | {"sync_status.details": 1})
        .sort("provider", 1)
    ):
        details = doc.get("sync_status", {}).get("details") or {}
        report = details.get("report") or {}
        integrations.append(
            {
                "provider": doc["provider"],
                "base_url": doc.get("credentials", {}).get("base_url"),
                "connection": {
                    "status": doc.get("connection", {}).get("status"),
                    "message": doc.get("connection", {}).get("message", ""),
                    "updated_at": doc.get("connection", {}).get("updated_at"),
                },
                "last_sync": {
                    "status": doc.get("sync_status", {}).get("status"),
                    "message": doc.get("sync_status", {}).get("message", ""),
                    "at": doc.get("sync_status", {}).get("last_sync"),
                    "log": [
                        {"at": e.at, "level": e.level, "message": e.message, "count": e.count}
                        for e in repository.logs(str(doc["_id"]))
                        if e.event == SYNC_LOG_EVENT
                    ][:MAX_LOG],
                },
                "missing_items": {
                    "skipped": {
                        entity: counts.get("skipped", 0)
                        for entity, counts in report.items()
                        if counts.get("skipped")
                    },
                    "warnings": list(details.get("warnings") or []),
                },
            }
        )
    failing = [
        {
            "id": str(doc["_id"]),
            "created_at": doc["created_at"],
            "provider": doc.get("pos_provider"),
            "status": doc.get("pos_status"),
            "errCode": (doc.get("external_data") or {})
            .get(doc.get("pos_provider") or "", {})
            .get("errCode"),
            "errMessage": (doc.get("external_data") or {})
            .get(doc.get("pos_provider") or "", {})
            .get("errMessage"),
        }
        for doc in db["transactions"]
        .find(
            {"location_id": location.id, "pos_status": {"$in": ["failed", "need_requeue"]}},
            {"created_at": 1, "pos_provider": 1, "pos_status": 1, "external_data": 1},
        )
        .sort("created_at", -1)
        .limit(MAX_ORDERS)
    ]
    ready = readiness(location.id)
    incidents = IncidentRepository().search(location_id=location.id, status=OPEN)
    checklist = [
        {
            "step": "provider",
            "ok": bool(integrations),
            "detail": ", ".join(i["provider"] for i in integrations) or "No register is set up.",
        },
        {
            "step": "connection",
            "ok": any(i["connection"]["status"] == CONNECTED for i in integrations),
            "detail": "; ".join(
                f"{i['provider']}: {i['connection']['message']}" for i in integrations
            )
            or "-",
        },
        {
            "step": "last_sync",
            "ok": any(i["last_sync"]["status"] == "success" for i in integrations),
            "detail": "; ".join(
                f"{i['provider']}: {i['last_sync']['message'] or 'never synced'}"
                for i in integrations
            )
            or "-",
        },
        {
            "step": "failing_orders",
            "ok": not failing,
            "detail": f"{len(failing)} order(s) failed or waiting" if failing else "None.",
        },
        {
            "step": "missing_items",
            "ok": not any(i["missing_items"]["skipped"] for i in integrations),
            "detail": "; ".join(
                f"{i['provider']}: {sum(i['missing_items']['skipped'].values())} skipped"
                for i in integrations
                if i["missing_items"]["skipped"]
            )
            or "Nothing skipped.",
        },
    ]
    return {
        "location": {
            "id": location.id,
            "name": location.name,
            "vendor_id": location.vendor_id,
            "vendor_name": vendor.name if vendor else "",
            "timezone": location.timezone,
        },
        "readiness": ready.as_dict() if ready else None,
        "checklist": checklist,
        "integrations": integrations,
        "failing_orders": failing,
        "open_incidents": [
            {
                "id": i.id,
                "kind": i.kind,
                "title": i.title,
                "message": i.message,
                "opened_at": i.opened_at,
                "occurrences": i.occurrences,
            }
            for i in incidents
        ],
    }


def location_exists(location_id: str) -> bool:
    oid = object_id(location_id)
    return oid is not None and get_db()["locations"].count_documents({"_id": oid}, limit=1) == 1
