"""Structured logs: one JSON object per line (production), with the ids a log line is about.

`JsonFormatter` writes `{"ts", "level", "logger", "message", ...}` plus every context field
known: `location_id`, `integration_id`, `transaction_id`, `run_id`, `delivery_id`, `task`,
`task_id`, `request_id`, taken from the record's `extra` first, else from the context of the
work in progress:
- a web request: the URL's ids (`LogContextMiddleware`);
- a Celery task: its name, id and the ids among its arguments, by parameter name
  (`bind_task_context`, connected to `task_prerun` in upvendo/celery.py).

`LOG_FORMAT` (`json` by default in production, `plain` elsewhere) chooses the formatter.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

FIELDS = (
    "location_id",
    "integration_id",
    "transaction_id",
    "run_id",
    "delivery_id",
    "task",
    "task_id",
    "request_id",
)
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "upvendo_log_context", default=None
)


def current_context() -> dict[str, Any]:
    return dict(_context.get() or {})


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    return _context.set({k: v for k, v in fields.items() if k in FIELDS and v is not None})


def clear() -> None:
    _context.set(None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = current_context()
        for name in FIELDS:
            value = getattr(record, name, None) or context.get(name)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class LogContextMiddleware:
    """Binds a request id and the URL's ids for the log lines of one request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bind(request_id=uuid.uuid4().hex)
        try:
            return self.get_response(request)
        finally:
            clear()

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        bind(**(current_context() | {k: v for k, v in kwargs.items() if k in FIELDS}))


def bind_task_context(
    task: Any = None, task_id: str | None = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    """Celery `task_prerun`: the task's name, id and its id arguments by parameter name."""
    fields: dict[str, Any] = {"task": getattr(task, "name", None), "task_id": task_id}
    try:
        parameters = [p for p in inspect.signature(task.run).parameters if p not in ("self",)]
    except (TypeError, ValueError, AttributeError):
        parameters = []
    fields.update({name: value for name, value in zip(parameters, args or (), strict=False)})
    fields.update(kwargs or {})
    bind(**fields)


def clear_task_context(**_: Any) -> None:
    clear()
