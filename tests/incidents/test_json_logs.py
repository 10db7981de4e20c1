"""Structured logs: one JSON object per line with the ids of the work in progress."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse

from orders.tasks import push_kassanet_order_job
from upvendo import logcontext
from upvendo.logging import RedactSecretsFilter, register_secret


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logcontext.JsonFormatter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logcontext.clear()


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_task_logs_its_name_id_and_id_arguments(lines: io.StringIO) -> None:
    logcontext.bind_task_context(
        task=push_kassanet_order_job, task_id="t-1", args=("6b0f00000000000000000001",)
    )
    logging.getLogger("tests.json").info("pushing %s", "now")
    logcontext.clear_task_context()
    logging.getLogger("tests.json").info("outside", extra={"run_id": "run-9"})
    first, second = parsed(lines)
    assert {
        k: first[k] for k in ("level", "logger", "message", "task", "task_id", "transaction_id")
    } == {
        "level": "info",
        "logger": "tests.json",
        "message": "pushing now",
        "task": "PushKassanetOrderJob",
        "task_id": "t-1",
        "transaction_id": "6b0f00000000000000000001",
    }
    assert first["ts"].endswith("Z")
    assert set(second) == {"ts", "level", "logger", "message", "run_id"}


def test_a_request_logs_the_ids_of_its_url_and_secrets_stay_out(lines: io.StringIO) -> None:
    register_secret("a-very-secret-signature-key")

    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("tests.json").warning("key a-very-secret-signature-key refused")
        return HttpResponse("ok")

    middleware = logcontext.LogContextMiddleware(view)
    request = HttpRequest()
    original = middleware.get_response

    def get_response(req: HttpRequest) -> HttpResponse:
        middleware.process_view(req, view, (), {"location_id": "L1", "provider": "hendrickx"})
        return original(req)

    middleware.get_response = get_response
    middleware(request)
    (entry,) = parsed(lines)
    assert entry["location_id"] == "L1" and len(entry["request_id"]) == 32
    assert "provider" not in entry
    assert entry["message"] == "key [REDACTED] refused"
    assert logcontext.current_context() == {}
