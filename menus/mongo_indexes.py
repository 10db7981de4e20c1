"""Indexes of the menu records and of the import staging area."""

from pymongo import ASCENDING, DESCENDING, IndexModel

from integrations.providers import PROVIDERS
from upvendo.mongo import register_indexes


def _external_id_indexes() -> list[IndexModel]:
    """One unique external id per provider and location: what an import matches on."""
    return [
        IndexModel(
            [("location_id", ASCENDING), (f"external_ids.{provider}", ASCENDING)],
            name=f"location_external_id_{provider}",
            unique=True,
            partialFilterExpression={f"external_ids.{provider}": {"$exists": True}},
        )
        for provider in PROVIDERS
    ]


def _provider_index() -> IndexModel:
    return IndexModel(
        [("location_id", ASCENDING), ("imported_by", ASCENDING)], name="location_imported_by"
    )


for _collection in ("categories", "items", "modifier_groups"):
    register_indexes(
        _collection,
        [
            *_external_id_indexes(),
            _provider_index(),
            IndexModel([("location_id", ASCENDING), ("name", ASCENDING)], name="location_name"),
        ],
    )
register_indexes(
    "display_groups",
    [
        *_external_id_indexes(),
        IndexModel(
            [("location_id", ASCENDING), ("imported_by", ASCENDING), ("sort", ASCENDING)],
            name="location_imported_by_sort",
        ),
    ],
)
register_indexes(
    "menus",
    [
        IndexModel(
            [("location_id", ASCENDING), ("imported_by", ASCENDING)],
            name="location_imported_by_unique",
            unique=True,
            partialFilterExpression={"imported_by": {"$exists": True}},
        )
    ],
)
register_indexes(
    "inventory",
    [
        IndexModel(
            [("location_id", ASCENDING), ("item_id", ASCENDING)],
            name="location_item_unique",
            unique=True,
        ),
        _provider_index(),
    ],
)
register_indexes(
    "import_runs",
    [
        IndexModel(
            [("run_id", ASCENDING), ("kind", ASCENDING), ("seq", ASCENDING)], name="run_chunks"
        ),
        IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0),
    ],
)
register_indexes(
    "menu_import_runs",
    [
        # The run history of an integration, newest first (menus/runs.py).
        IndexModel(
            [("integration_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="integration_created_at",
        )
    ],
)
register_indexes(
    "menu_versions",
    [
        IndexModel(
            [("integration_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="integration_created_at",
        )
    ],
)
register_indexes(
    "menu_version_chunks",
    [
        IndexModel(
            [("version_id", ASCENDING), ("entity", ASCENDING), ("seq", ASCENDING)],
            name="version_chunks",
        )
    ],
)
register_indexes(
    "integrations",
    [
        # ResumeStalledMenuImportsJob: the in-progress imports by last progress (a handful).
        IndexModel(
            [("sync_status.updated_at", ASCENDING)],
            name="menu_import_in_progress_updated_at",
            partialFilterExpression={"sync_status.status": "in_progress"},
        )
    ],
)
