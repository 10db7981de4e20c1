from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from integrations.credentials import Credentials
from integrations.repository import IntegrationRepository
from locations.repository import Location, LocationRepository

SIGNATURE_KEY = "sig-key-0123456789-secret-abcd"
ENCRYPTION_TOKEN = "token-9876543210-secret-wxyz"


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]]) -> Location:
    return LocationRepository().create(
        vendor_id="1", name="Brasserie", timezone="Europe/Brussels", currency="EUR"
    )


@pytest.fixture
def repo() -> IntegrationRepository:
    return IntegrationRepository()


def credentials(
    base_url: str = "https://pos.example.be/kassanet/",
    signature_key: str = SIGNATURE_KEY,
    encryption_token: str = ENCRYPTION_TOKEN,
    enable_encryption: bool = True,
) -> Credentials:
    return Credentials(base_url, signature_key, encryption_token, enable_encryption)
