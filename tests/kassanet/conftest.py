"""The kassanet library needs neither Django, MongoDB nor Redis.

The repository-wide ``tests/conftest.py`` gives every test a MongoDB database and a Redis
prefix automatically; these same-named fixtures override them for this package, so its tests
run without those servers (and with ``-p no:django``).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def mongo_db() -> None:
    """No database: the kassanet library does not use MongoDB."""


@pytest.fixture(autouse=True)
def redis_namespace() -> None:
    """No Redis: the kassanet library does not use it."""
