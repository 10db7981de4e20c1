from pymongo import ASCENDING, DESCENDING, IndexModel

from incidents.repository import CHANNELS, DELIVERIES, DELIVERY_RETENTION, INCIDENTS, WATCHES
from upvendo.mongo import register_indexes

register_indexes(
    INCIDENTS,
    [
        # Deduplication: at most one open incident per (location, kind).
        IndexModel(
            [("location_id", ASCENDING), ("kind", ASCENDING)],
            name="open_location_kind_unique",
            unique=True,
            partialFilterExpression={"status": "open"},
        ),
        # A location's history (and its trimming), newest first.
        IndexModel(
            [("location_id", ASCENDING), ("status", ASCENDING), ("resolved_at", DESCENDING)],
            name="location_status_resolved",
        ),
        IndexModel(
            [("vendor_id", ASCENDING), ("status", ASCENDING), ("opened_at", DESCENDING)],
            name="vendor_status_opened",
        ),
        IndexModel([("status", ASCENDING), ("kind", ASCENDING)], name="status_kind"),
    ],
)
register_indexes(WATCHES, [IndexModel([("location_id", ASCENDING)], name="location")])
register_indexes(
    CHANNELS, [IndexModel([("vendor_id", ASCENDING), ("created_at", ASCENDING)], name="vendor")]
)
register_indexes(
    DELIVERIES,
    [
        IndexModel([("channel_id", ASCENDING), ("created_at", DESCENDING)], name="channel_created"),
        IndexModel(
            [("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="status_next_attempt"
        ),
        IndexModel(
            [("created_at", ASCENDING)],
            name="created_at_ttl",
            expireAfterSeconds=int(DELIVERY_RETENTION.total_seconds()),
        ),
    ],
)
