from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from integrations.credentials import Credentials
from integrations.repository import IntegrationRepository
from locations.repository import Location, LocationRepository

SIGNATURE_KEY = "sig-key-0123456789-secret-abcd"
ENCRYPTION_TOKEN = "token-9876543210-secret-wxyz"
SECRETS = (SIGNATURE_KEY, ENCRYPTION_TOKEN)


class RecordingClient(APIClient):
    """An API client that keeps every response body, to prove no secret ever leaves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: list[bytes] = []

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        self.bodies.append(response.content)
        return response


@pytest.fixture
def alice(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", "Alice Foods")


@pytest.fixture
def bob(db: Any) -> VendorUser:
    return ensure_vendor_user("bob", "Bob Bistros")


def client_for(user: VendorUser) -> RecordingClient:
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.token}")
    return client


@pytest.fixture
def api(alice: VendorUser, caplog: pytest.LogCaptureFixture) -> Iterator[RecordingClient]:
    """Alice's client; after the test, no secret may be in any response body or log record."""
    caplog.set_level(logging.DEBUG)
    client = client_for(alice)
    yield client
    for secret in SECRETS:
        assert all(secret.encode() not in body for body in client.bodies), secret
        assert secret not in caplog.text, secret


@pytest.fixture
def other_api(bob: VendorUser) -> RecordingClient:
    return client_for(bob)


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], alice: VendorUser) -> Location:
    return LocationRepository().create(
        vendor_id=str(alice.vendor.pk), name="Brasserie", timezone="Asia/Kolkata", currency="EUR"
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


def connect_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "base_url": "https://127.0.0.1:9/kassanet/",
        "signature_key": SIGNATURE_KEY,
        "encryption_token": ENCRYPTION_TOKEN,
        "enable_encryption": True,
    }
    return body | overrides
