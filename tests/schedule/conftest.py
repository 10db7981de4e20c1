from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pymongo.database import Database

from integrations.credentials import Credentials
from locations.repository import Location, LocationRepository
from tests.e2e_support import _producer_prefix
from upvendo.celery import QUEUE_MENU_IMPORT
from upvendo.redis import get_redis

CREDENTIALS = Credentials(
    "https://pos.example.be/kassanet/", "sig-key-0123456789", "token-0123456789", True
)


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]]) -> Location:
    return LocationRepository().create(
        vendor_id="1", name="Brasserie", timezone="Europe/Brussels", currency="EUR"
    )


@dataclass
class Broker:
    """The real Redis broker, under a key prefix of the test's own."""

    prefix: str

    def queued(self, queue: str = QUEUE_MENU_IMPORT) -> list[tuple[str, str]]:
        """(task name, args repr) of each message waiting on `queue`, oldest first."""
        messages = [json.loads(raw) for raw in get_redis().lrange(self.prefix + queue, 0, -1)]
        return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in reversed(messages)]


@pytest.fixture
def broker() -> Iterator[Broker]:
    prefix = f"test-schedule-{uuid.uuid4().hex[:10]}:"
    with _producer_prefix(prefix):
        yield Broker(prefix)
    client = get_redis()
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
