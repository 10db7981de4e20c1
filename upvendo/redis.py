"""Redis access for the service's own keys (the Celery broker is configured separately)."""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_client: redis.Redis | None = None
_lock = threading.Lock()


def get_redis() -> redis.Redis:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=5,
                    socket_connect_timeout=5,
                    decode_responses=True,
                    health_check_interval=30,
                )
    return _client


def close_redis() -> None:
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def key(*parts: object) -> str:
    """A namespaced Redis key: `key("events", location_id)` -> `upvendo:events:<id>`."""
    return settings.REDIS_KEY_PREFIX + ":".join(str(part) for part in parts)
