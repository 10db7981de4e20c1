"""Fixtures shared by every test.

Every test gets its own MongoDB database and its own Redis key prefix (both real servers,
started by scripts/test), so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database

from upvendo.mongo import ensure_indexes, get_client, get_db
from upvendo.redis import get_redis


@pytest.fixture(autouse=True)
def mongo_db(settings: Any) -> Iterator[Database[dict[str, Any]]]:
    """A fresh, empty MongoDB database with every index, dropped after the test."""
    settings.MONGODB_DB = f"test_{uuid.uuid4().hex[:12]}"
    db = get_db()
    yield db
    get_client().drop_database(settings.MONGODB_DB)


@pytest.fixture
def indexed_db(mongo_db: Database[dict[str, Any]]) -> Database[dict[str, Any]]:
    ensure_indexes(mongo_db)
    return mongo_db


@pytest.fixture(autouse=True)
def redis_namespace(settings: Any) -> Iterator[str]:
    """A Redis key prefix of the test's own; its keys are deleted after the test."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    settings.REDIS_KEY_PREFIX = prefix
    yield prefix
    client = get_redis()
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters live in Django's cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
