"""Fixtures of the orders tests: a vendor, a location, its menu in the shape the menu import
writes (items with `external_ids`, modifier groups with embedded modifiers, Decimal128
prices), a Hendrickx integration pointing at a simulator, and a pusher with an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128, ObjectId
from pymongo.database import Database
from rest_framework.test import APIClient

import kassanet
from accounts.roles import PAYMENTS
from accounts.services import VendorUser, ensure_vendor_user
from integrations.credentials import Credentials
from integrations.repository import CONNECTED, Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location, LocationRepository
from orders.push import OrderPusher, PushConfig
from tests.tokens import service_client

PROVIDER = "hendrickx"
TABLES = list(range(1, 11))


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Menu:
    """Ids of the imported records, by the register's product / modifier id."""

    items: dict[str, str]
    modifiers: dict[str, str]
    prices: dict[str, Decimal]


def import_menu(
    db: Database[dict[str, Any]],
    location_id: str,
    catalog: dict[str, Any],
    provider: str = PROVIDER,
) -> Menu:
    """Write the catalog's products as the menu import does."""
    items: dict[str, str] = {}
    modifiers: dict[str, str] = {}
    prices: dict[str, Decimal] = {}
    group_ids: dict[str, ObjectId] = {}
    base = {"location_id": location_id, "imported_by": provider}
    for product in catalog["products"]:
        for group in product["modifier_groups"]:
            if group["id"] in group_ids:
                continue
            group_ids[group["id"]] = ObjectId()
            embedded = []
            for modifier in group["modifiers"]:
                modifiers[modifier["id"]] = str(ObjectId())
                prices[modifier["id"]] = Decimal(modifier["price"])
                embedded.append(
                    {
                        "id": modifiers[modifier["id"]],
                        "name": modifier["name"],
                        "kitchen_name": modifier["kitchen_name"],
                        "price": Decimal128(modifier["price"]),
                        "external_ids": {provider: modifier["id"]},
                    }
                )
            db.modifier_groups.insert_one(
                {
                    **base,
                    "_id": group_ids[group["id"]],
                    "name": group["name"],
                    "min": group["min"],
                    "max": group["max"],
                    "modifiers": embedded,
                    "external_ids": {provider: group["id"]},
                }
            )
        oid = ObjectId()
        items[product["id"]] = str(oid)
        prices[product["id"]] = Decimal(product["price"])
        db.items.insert_one(
            {
                **base,
                "_id": oid,
                "name": product["name"],
                "kitchen_name": product["kitchen_name"],
                "price": Decimal128(product["price"]),
                "modifier_group_ids": [str(group_ids[g["id"]]) for g in product["modifier_groups"]],
                "external_ids": {provider: product["id"]},
            }
        )
    return Menu(items, modifiers, prices)


@pytest.fixture
def vendor_user(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", vendor_name="Alice's")


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], vendor_user: VendorUser) -> Location:
    return LocationRepository().create(
        vendor_id=str(vendor_user.vendor.pk),
        name="Gent",
        timezone="Europe/Brussels",
        currency="EUR",
    )


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    with start_simulator(products=30, tables=len(TABLES), encrypt=True) as sim:
        yield sim


def connect_integration(
    location: Location, simulator: SimulatorHandle, provider: str = PROVIDER
) -> Integration:
    repository = IntegrationRepository()
    integration = repository.upsert(
        location.id,
        provider,
        Credentials(
            base_url=simulator.base_url,
            signature_key=simulator.signature_key,
            encryption_token=simulator.encryption_token,
            enable_encryption=True,
        ),
        {"tables": TABLES, "tables_usage": {}, "payment_type_id": "PT3"},
    )
    repository.set_connection(integration.id, CONNECTED, "Connected.")
    found = repository.get_by_id(integration.id)
    assert found is not None
    return found


@pytest.fixture
def integration(location: Location, simulator: SimulatorHandle) -> Integration:
    return connect_integration(location, simulator)


@pytest.fixture
def menu(
    indexed_db: Database[dict[str, Any]], location: Location, simulator: SimulatorHandle
) -> Menu:
    return import_menu(indexed_db, location.id, simulator.catalog())


@pytest.fixture
def clock() -> Clock:
    return Clock()


def fast_config(**overrides: Any) -> PushConfig:
    values: dict[str, Any] = {
        "lock_ttl": timedelta(minutes=5),
        "max_retries": 2,
        "retry_base": 1.0,
        "retry_max": 8.0,
        "table_retry": 1.0,
        "table_wait": timedelta(minutes=10),
        "lease": timedelta(seconds=120),
        "client_retry": kassanet.RetryPolicy(max_attempts=1),
    }
    values.update(overrides)
    return PushConfig(**values)


@pytest.fixture
def pusher(clock: Clock) -> OrderPusher:
    return OrderPusher(config=fast_config(), clock=clock, jitter=kassanet.no_jitter)


@pytest.fixture
def api(vendor_user: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {vendor_user.token}")
    return client


@pytest.fixture
def payments_api(db: Any) -> APIClient:
    """The platform's payments service: the only caller that may confirm a payment."""
    return service_client(PAYMENTS)
