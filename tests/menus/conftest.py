from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database

from accounts.services import VendorUser, ensure_vendor_user
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from tests.menus.support import fixture_catalog, make_location


@pytest.fixture
def alice(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", "Alice Foods")


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], alice: VendorUser) -> Location:
    return make_location(alice)


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    """A simulator serving tests/menus/fixtures/register_basic.json."""
    with start_simulator(products=1, tables=0) as handle:
        handle.set_catalog(fixture_catalog())
        yield handle
