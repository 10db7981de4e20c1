from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from accounts.services import VendorUser, ensure_vendor_user
from locations.repository import Location
from tests.menus.support import make_location


@pytest.fixture
def alice(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", "Alice Foods")


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], alice: VendorUser) -> Location:
    return make_location(alice)
