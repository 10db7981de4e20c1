"""Orders to pay, and a local Viva Wallet API (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from pymongo.database import Database
from rest_framework.test import APIClient

from accounts.roles import PAYMENTS
from accounts.services import VendorUser, ensure_vendor_user
from locations.repository import Location, LocationRepository
from orders.repository import Transaction, TransactionRepository
from tests.tokens import client_with, service_client

VIVA_MERCHANT_ID = "1b3a9b2e-6d7c-4f5e-8a9b-0c1d2e3f4a5b"
VIVA_API_KEY = "viva-api-key-test"
VIVA_CLIENT_ID = "viva-client.apps.vivapayments.com"
VIVA_CLIENT_SECRET = "viva-client-secret-test"
VIVA_WEBHOOK_KEY = "3F0B4D9C7A2E41C6B8D5E9F1A0C3B7D2E6F8A1C4"


@pytest.fixture
def vendor_user(db: Any) -> VendorUser:
    return ensure_vendor_user("alice", "Alice's")


@pytest.fixture
def location(indexed_db: Database[dict[str, Any]], vendor_user: VendorUser) -> Location:
    return LocationRepository().create(
        vendor_id=str(vendor_user.vendor.pk),
        name="Gent",
        timezone="Europe/Brussels",
        currency="EUR",
    )


def new_order(location: Location, total: str = "35.40") -> Transaction:
    return TransactionRepository().create(
        vendor_id=location.vendor_id,
        location_id=location.id,
        currency=location.currency,
        channel="kiosk",
        table_number=None,
        lines=[],
        total=Decimal(total),
        now=datetime.now(UTC),
    )


def status_of(txn: Transaction) -> str:
    found = TransactionRepository().get(txn.id)
    assert found is not None
    return found.status


@pytest.fixture
def admin_api(vendor_user: VendorUser) -> APIClient:
    return client_with(vendor_user.token)


@pytest.fixture
def payments_api(db: Any) -> APIClient:
    return service_client(PAYMENTS)


@dataclass
class VivaApi:
    """What Viva's API knows, and what it was asked."""

    base_url: str = ""
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth
    issued_tokens: list[str] = field(default_factory=list)

    def add(self, **values: Any) -> str:
        """A transaction in the shape of Viva's Retrieve Transaction answer; returns its id."""
        transaction_id = str(uuid.uuid4())
        self.transactions[transaction_id] = {
            "email": "customer@example.com",
            "amount": 35.40,
            "orderCode": 6962462482972601,
            "statusId": "F",
            "fullName": "Customer name",
            "insDate": "2026-12-02T10:39:28.73+01:00",
            "cardNumber": "414746XXXXXX0133",
            "currencyCode": "978",
            "customerTrns": "Your order at Gent",
            "merchantTrns": "",
            "transactionTypeId": 5,
            "recurringSupport": False,
            "totalInstallments": 0,
            "cardCountryCode": "BE",
            "cardIssuingBank": None,
            "currentInstallment": 0,
            "cardUniqueReference": "2BFCB1FD4F000DB41CB5BA76CAFB68D76AB87752",
            "cardTypeId": 0,
            "digitalWalletId": None,
            **values,
        }
        return transaction_id


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _handler(viva: VivaApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            viva.requests.append(("GET", self.path, auth))
            if self.path == "/api/messages/config/token":
                if auth != _basic(VIVA_MERCHANT_ID, VIVA_API_KEY):
                    return self._send(401)
                return self._send(200, {"Key": VIVA_WEBHOOK_KEY})
            prefix = "/checkout/v2/transactions/"
            if self.path.startswith(prefix):
                if auth.removeprefix("Bearer ") not in viva.issued_tokens:
                    return self._send(401)
                found = viva.transactions.get(self.path[len(prefix) :])
                return self._send(200, found) if found else self._send(404)
            return self._send(404)

        def do_POST(self) -> None:
            auth = self.headers.get("Authorization", "")
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            viva.requests.append(("POST", self.path, auth))
            if self.path != "/connect/token":
                return self._send(404)
            if auth != _basic(VIVA_CLIENT_ID, VIVA_CLIENT_SECRET) or form.get("grant_type") != [
                "client_credentials"
            ]:
                return self._send(400, {"error": "invalid_client"})
            token = f"eyJ-{uuid.uuid4().hex}"
            viva.issued_tokens.append(token)
            return self._send(
                200,
                {
                    "access_token": token,
                    "expires_in": 3600,
                    "token_type": "Bearer",
                    "scope": "urn:viva:payments:core:api:redirectcheckout",
                },
            )

    return Handler


@pytest.fixture
def viva(settings: Any) -> Iterator[VivaApi]:
    """Viva's accounts, API and webhook-key hosts as one local server; the settings point to it."""
    api = VivaApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.VIVA_BASE_URL = settings.VIVA_ACCOUNTS_URL = settings.VIVA_API_URL = api.base_url
    settings.VIVA_MERCHANT_ID, settings.VIVA_API_KEY = VIVA_MERCHANT_ID, VIVA_API_KEY
    settings.VIVA_CLIENT_ID, settings.VIVA_CLIENT_SECRET = VIVA_CLIENT_ID, VIVA_CLIENT_SECRET
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
