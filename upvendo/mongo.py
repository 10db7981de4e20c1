"""The one place that talks to MongoDB's client.

- `get_client()` / `get_db()` create the client lazily, on first use (never at import time),
  once per process; Celery's prefork children reset it after the fork.
- Each app declares its indexes in a `mongo_indexes.py` module with `register_indexes()`;
  `ensure_indexes()` (run by `manage.py ensure_indexes`, the run and test commands) creates
  them all, idempotently.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from pymongo import IndexModel, MongoClient
from pymongo.database import Database

_client: MongoClient[dict[str, Any]] | None = None
_client_lock = threading.Lock()
_indexes: dict[str, list[IndexModel]] = {}


def get_client() -> MongoClient[dict[str, Any]]:
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = MongoClient(
                    settings.MONGODB_URI,
                    tz_aware=True,
                    uuidRepresentation="standard",
                    serverSelectionTimeoutMS=settings.MONGODB_TIMEOUT_MS,
                    connectTimeoutMS=settings.MONGODB_TIMEOUT_MS,
                    appname="upvendo",
                )
    return _client


def get_db() -> Database[dict[str, Any]]:
    return get_client()[settings.MONGODB_DB]


def close_client() -> None:
    """Forget the client (after a fork, or in tests that change the URI)."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def register_indexes(collection: str, indexes: Iterable[IndexModel]) -> None:
    """Declare indexes for a collection. Called from each app's `mongo_indexes` module."""
    existing = _indexes.setdefault(collection, [])
    known = {index.document["name"] for index in existing}
    existing.extend(index for index in indexes if index.document["name"] not in known)


def registered_indexes() -> dict[str, list[IndexModel]]:
    autodiscover_modules("mongo_indexes")
    return _indexes


def ensure_indexes(db: Database[dict[str, Any]] | None = None) -> dict[str, list[str]]:
    """Create every registered index (idempotent). Returns the index names per collection."""
    db = get_db() if db is None else db
    created: dict[str, list[str]] = {}
    for collection, indexes in registered_indexes().items():
        if indexes:
            created[collection] = db[collection].create_indexes(list(indexes))
    return created


def ping() -> None:
    get_client().admin.command("ping")
