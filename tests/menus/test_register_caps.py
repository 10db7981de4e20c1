"""A register with more products, selections or tables than the service accepts: the import
fails with a reason that names the count and the limit, and the previous menu stays."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from integrations.services import get_service
from kassanet.testing import SimulatorHandle
from locations.repository import Location
from tests.menus.support import connect, dump_menu

# tests/menus/fixtures/register_basic.json: 7 products, 3 selections, 3 tables.


@pytest.mark.parametrize(
    ("setting", "limit", "reason"),
    [
        (
            "POS_MAX_PRODUCTS",
            6,
            "GetAllProducts: the register sent 7 products, more than the 6 this service accepts",
        ),
        (
            "POS_MAX_SELECTIONS",
            2,
            "GetProductSelection: the register sent 3 selections, more than the 2 this service "
            "accepts",
        ),
        (
            "POS_MAX_TABLES",
            2,
            "TableNumbers: the register sent 3 tables, more than the 2 this service accepts",
        ),
    ],
)
def test_an_import_beyond_a_cap_fails_with_the_count_and_the_limit_and_keeps_the_menu(
    location: Location,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
    settings: Any,
    setting: str,
    limit: int,
    reason: str,
) -> None:
    integration = connect(location, sim)
    service = get_service(integration.provider)
    assert service.import_menu_now(integration)["status"] == "success"
    before = dump_menu(indexed_db, location.id)
    setattr(settings, setting, limit)

    status = service.import_menu_now(integration)

    assert status["status"] == "error"
    assert status["message"].startswith(f"Menu import failed at the menu stage: {reason}; ")
    assert status["message"].endswith("The previous menu is unchanged.")
    assert status["details"]["error"]["type"] == "TooManyItemsError"
    assert dump_menu(indexed_db, location.id) == before
