"""Fixtures of the fault-injection suite."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pymongo.database import Database

from accounts.services import VendorUser, ensure_vendor_user
from locations.repository import Location, LocationRepository
from tests.orders.conftest import clock, integration, menu, pusher, simulator  # noqa: F401

# The orders tests' fixtures above (a simulator, its integration and imported menu, a pusher
# with a fake clock) serve the deterministic race scenarios.


@pytest.fixture
def vendor_user(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", vendor_name="Alice's")


@pytest.fixture
def location(mongo_db: Database[dict[str, Any]], vendor_user: VendorUser) -> Location:
    return LocationRepository().create(
        vendor_id=str(vendor_user.vendor.pk),
        name="Gent",
        timezone="Europe/Brussels",
        currency="EUR",
    )


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything this process logs, down to DEBUG (searched for secrets at the end)."""
    caplog.set_level(logging.DEBUG)
    return caplog
