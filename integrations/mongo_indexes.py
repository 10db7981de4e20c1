from pymongo import ASCENDING, IndexModel

from integrations.repository import COLLECTION
from upvendo.mongo import register_indexes

register_indexes(
    COLLECTION,
    [
        # One integration per (location, provider): connect upserts against it.
        IndexModel(
            [("location_id", ASCENDING), ("provider", ASCENDING)],
            name="location_provider",
            unique=True,
        ),
        IndexModel([("connection.status", ASCENDING)], name="connection_status"),
        # The scheduler's due query: settings.next_run_time <= now (integrations/schedule.py).
        IndexModel([("settings.next_run_time", ASCENDING)], name="settings_next_run_time"),
    ],
)
