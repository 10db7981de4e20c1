"""`GET /healthz`: the state of MongoDB, Redis and the Django database."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from upvendo.mongo import ping as ping_mongo
from upvendo.redis import get_redis

logger = logging.getLogger(__name__)


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


CHECKS: dict[str, Callable[[], object]] = {
    "mongodb": ping_mongo,
    "redis": lambda: get_redis().ping(),
    "database": _ping_database,
}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    components: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:
            logger.warning("Health check of %s failed: %s", name, type(exc).__name__)
            components[name] = {"status": "down", "error": type(exc).__name__}
        else:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            components[name] = {"status": "up", "latency_ms": elapsed_ms}
    down = sorted(name for name, state in components.items() if state["status"] != "up")
    body: dict[str, object] = {"status": "down" if down else "up", "components": components}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
