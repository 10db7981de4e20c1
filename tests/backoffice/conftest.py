"""Fixtures of the backoffice page tests: two vendors' users and locations."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pymongo.database import Database

from accounts.services import VendorUser, ensure_vendor_user
from locations.repository import Location, LocationRepository

PASSWORD = "a-long-test-password"


@pytest.fixture
def alice(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", "Alice Foods", password=PASSWORD)


@pytest.fixture
def bob(db: Any) -> VendorUser:
    return ensure_vendor_user("bob", "Bob Bistros", password=PASSWORD)


def make_location(vendor: VendorUser, name: str, timezone: str = "Europe/Brussels") -> Location:
    return LocationRepository().create(
        vendor_id=str(vendor.vendor.pk), name=name, timezone=timezone, currency="EUR"
    )


@pytest.fixture
def gent(indexed_db: Database[dict[str, Any]], alice: VendorUser) -> Location:
    return make_location(alice, "Gent")


@pytest.fixture
def antwerpen(indexed_db: Database[dict[str, Any]], alice: VendorUser) -> Location:
    return make_location(alice, "Antwerpen")


@pytest.fixture
def bobs_place(indexed_db: Database[dict[str, Any]], bob: VendorUser) -> Location:
    return make_location(bob, "Bob's Brugge")


@pytest.fixture
def browser_client(alice: VendorUser) -> Client:
    """Alice logged in with a session, as the page's script calls the API."""
    client = Client()
    client.force_login(alice.user)
    return client
