"""A small client of Viva Wallet's APIs, for the webhook (`orders.webhooks`).

- The webhook verification key: `GET {VIVA_BASE_URL}/api/messages/config/token` with basic
  authentication (merchant id and API key) answers `{"Key": "..."}`, which the webhook's
  GET hands back to Viva as is.
- A transaction: `GET {VIVA_API_URL}/checkout/v2/transactions/{transactionId}` with an
  OAuth2 bearer token from `POST {VIVA_ACCOUNTS_URL}/connect/token`
  (`grant_type=client_credentials`, basic authentication with the client id and secret).

An event is never trusted as posted: its transaction is read back from Viva, and only
what Viva answers (status, amount, currency, merchant reference) confirms a payment.
Credentials never appear in logs or errors.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings

from upvendo.logging import register_secret

logger = logging.getLogger(__name__)

# ISO 4217 numeric codes (Viva's currencyCode) of the currencies Viva settles.
NUMERIC_CURRENCIES = {
    "978": "EUR",
    "826": "GBP",
    "946": "RON",
    "985": "PLN",
    "203": "CZK",
    "348": "HUF",
    "752": "SEK",
    "208": "DKK",
    "975": "BGN",
    "578": "NOK",
    "756": "CHF",
    "352": "ISK",
    "840": "USD",
}
CENT = Decimal("0.01")
SUCCESSFUL = "F"  # statusId: the transaction has been completed successfully


class VivaError(Exception):
    """Viva could not be asked (not configured, unreachable, or an unexpected answer)."""


@dataclass(frozen=True)
class VivaTransaction:
    transaction_id: str
    status_id: str
    amount: Decimal
    currency: str | None  # ISO 4217 alphabetic, None for a code we do not know
    merchant_trns: str
    order_code: str

    @classmethod
    def from_api(cls, transaction_id: str, data: dict[str, Any]) -> VivaTransaction:
        try:
            amount = Decimal(str(data["amount"]))
        except (KeyError, InvalidOperation) as error:
            raise VivaError("Viva's transaction has no valid amount.") from error
        if amount.is_finite() and amount == amount.quantize(CENT):
            amount = amount.quantize(CENT)  # 0.4 is 0.40; 0.401 stays (and matches no order)
        return cls(
            transaction_id=transaction_id,
            status_id=str(data.get("statusId") or ""),
            amount=amount,
            currency=NUMERIC_CURRENCIES.get(str(data.get("currencyCode") or "")),
            merchant_trns=str(data.get("merchantTrns") or ""),
            order_code=str(data.get("orderCode") or ""),
        )


def is_transaction_id(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


class VivaClient:
    def __init__(
        self,
        *,
        base_url: str,
        accounts_url: str,
        api_url: str,
        merchant_id: str,
        api_key: str,
        client_id: str,
        client_secret: str,
        timeout: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.accounts_url = accounts_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self._merchant = (merchant_id, api_key)
        self._client = (client_id, client_secret)
        self.timeout = timeout
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        register_secret(api_key)  # redacted from every log line, should one ever carry it
        register_secret(client_secret)

    @property
    def can_read_webhook_key(self) -> bool:
        return all(self._merchant)

    @property
    def can_read_transactions(self) -> bool:
        return all(self._client)

    @classmethod
    def from_settings(cls) -> VivaClient:
        return _client_for(
            (
                settings.VIVA_BASE_URL,
                settings.VIVA_ACCOUNTS_URL,
                settings.VIVA_API_URL,
                settings.VIVA_MERCHANT_ID,
                settings.VIVA_API_KEY,
                settings.VIVA_CLIENT_ID,
                settings.VIVA_CLIENT_SECRET,
                settings.VIVA_TIMEOUT_SECONDS,
            )
        )

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return httpx.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.HTTPError as error:
            logger.warning("Viva Wallet %s %s failed: %s", method, url, type(error).__name__)
            raise VivaError("Viva Wallet could not be reached.") from None

    def webhook_key(self) -> str:
        """The webhook verification key, for Viva's GET handshake."""
        if not all(self._merchant):
            raise VivaError("VIVA_MERCHANT_ID and VIVA_API_KEY are not set.")
        response = self._request(
            "GET", f"{self.base_url}/api/messages/config/token", auth=self._merchant
        )
        key = _json(response).get("Key") if response.status_code == 200 else None
        if not isinstance(key, str) or not key:
            logger.warning(
                "Viva Wallet answered %s to the webhook key request", response.status_code
            )
            raise VivaError("Viva Wallet did not give a webhook key.")
        return key

    def access_token(self, *, renew: bool = False) -> str:
        if not all(self._client):
            raise VivaError("VIVA_CLIENT_ID and VIVA_CLIENT_SECRET are not set.")
        with self._lock:
            if self._token is not None and not renew and self._token[1] > time.monotonic():
                return self._token[0]
            response = self._request(
                "POST",
                f"{self.accounts_url}/connect/token",
                data={"grant_type": "client_credentials"},
                auth=self._client,
            )
            data = _json(response) if response.status_code == 200 else {}
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                logger.warning("Viva Wallet answered %s to the token request", response.status_code)
                raise VivaError("Viva Wallet refused the client credentials.")
            expires_in = data.get("expires_in")
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
            register_secret(token)
            self._token = (token, time.monotonic() + max(lifetime - 60.0, 0.0))
            return token

    def transaction(self, transaction_id: str) -> VivaTransaction | None:
        """The transaction as Viva has it; None when Viva does not know it."""
        if not is_transaction_id(transaction_id):
            return None
        url = f"{self.api_url}/checkout/v2/transactions/{uuid.UUID(transaction_id)}"
        response = None
        for renew in (False, True):
            token = self.access_token(renew=renew)
            response = self._request("GET", url, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 401:
                break
        assert response is not None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            logger.warning("Viva Wallet answered %s for a transaction", response.status_code)
            raise VivaError(f"Viva Wallet answered {response.status_code}.")
        return VivaTransaction.from_api(transaction_id, _json(response))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise VivaError("Viva Wallet's answer is not JSON.") from None
    if not isinstance(data, dict):
        raise VivaError("Viva Wallet's answer is not a JSON object.")
    return data


_clients: dict[tuple[Any, ...], VivaClient] = {}
_clients_lock = threading.Lock()


def _client_for(config: tuple[Any, ...]) -> VivaClient:
    """One client (so one cached OAuth2 token) per configuration."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            base, accounts, api, merchant, key, client_id, secret, timeout = config
            client = VivaClient(
                base_url=base,
                accounts_url=accounts,
                api_url=api,
                merchant_id=merchant,
                api_key=key,
                client_id=client_id,
                client_secret=secret,
                timeout=timeout,
            )
            _clients[config] = client
        return client
