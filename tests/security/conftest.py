"""Fixtures of the web-hardening tests: a vendor user with a password and a location."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from locations.repository import Location, LocationRepository

PASSWORD = "a-long-test-password-for-alice"


@pytest.fixture
def alice(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", "Alice Foods", password=PASSWORD)


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], alice: VendorUser) -> Location:
    return LocationRepository().create(
        vendor_id=str(alice.vendor.pk), name="Gent", timezone="Europe/Brussels", currency="EUR"
    )


@pytest.fixture
def session(alice: VendorUser) -> APIClient:
    """Alice logged in with a session cookie, as the backoffice page calls the API; CSRF is
    checked as in a browser."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice.user)
    return client


def throttle_rates(settings: Any, **rates: str) -> None:
    """Set the API throttle rates for this test (scope names with `_` for `-`)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {name.replace("_", "-"): rate for name, rate in rates.items()},
    }
