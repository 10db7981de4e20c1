"""Helpers shared by the menu import tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import bson
from pymongo.database import Database

from accounts.services import VendorUser
from integrations.credentials import Credentials
from integrations.imported_data import IMPORTED_COLLECTIONS
from integrations.repository import Integration, IntegrationRepository
from kassanet.testing import SimulatorControl
from locations.repository import Location, LocationRepository

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_catalog(name: str = "register_basic.json") -> dict[str, Any]:
    catalog: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    catalog.setdefault("payment_types", [{"id": "PT3", "name": "Webshop"}])
    return catalog


def make_location(user: VendorUser, name: str = "Brasserie") -> Location:
    return LocationRepository().create(
        vendor_id=str(user.vendor.pk), name=name, timezone="Europe/Brussels", currency="EUR"
    )


def connect(
    location: Location,
    sim: Any,
    provider: str = "hendrickx",
    *,
    encryption_token: str | None = None,
) -> Integration:
    """An integration whose credentials point at the simulator ``sim``."""
    return IntegrationRepository().upsert(
        location.id,
        provider,
        Credentials(
            sim.base_url,
            sim.signature_key,
            encryption_token or sim.encryption_token,
            sim.config.encrypt,
        ),
        {},
    )


def dump_menu(db: Database[dict[str, Any]], location_id: str) -> dict[str, list[bytes]]:
    """Every imported record of the location, as BSON bytes in ``_id`` order."""
    return {
        name: [
            bson.encode(doc) for doc in db[name].find({"location_id": location_id}).sort("_id", 1)
        ]
        for name in IMPORTED_COLLECTIONS
    }


def edit_catalog(control: SimulatorControl, change: Any) -> dict[str, Any]:
    """Apply ``change(catalog)`` to the simulator's catalog (in place) and upload it."""
    catalog = copy.deepcopy(control.catalog())
    change(catalog)
    control.set_catalog(catalog)
    return catalog


def product(catalog: dict[str, Any], product_id: str) -> dict[str, Any]:
    return next(p for p in catalog["products"] if p["id"] == product_id)


def by_external_id(
    db: Database[dict[str, Any]], collection: str, location_id: str, provider: str = "hendrickx"
) -> dict[str, dict[str, Any]]:
    return {
        doc["external_ids"][provider]: doc
        for doc in db[collection].find({"location_id": location_id, "imported_by": provider})
    }
