"""Fixtures of the fault-injection suite: the orders tests' vendor, location, simulator,
integration, imported menu and pusher with a fake clock, and a DEBUG log capture."""

from __future__ import annotations

import logging

import pytest

from tests.orders.conftest import (  # noqa: F401 - fixtures
    clock,
    integration,
    location,
    menu,
    pusher,
    simulator,
    vendor_user,
)


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything this process logs, down to DEBUG (searched for secrets at the end)."""
    caplog.set_level(logging.DEBUG)
    return caplog
