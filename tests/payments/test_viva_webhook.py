"""`/api/webhooks/viva-wallet`: the verification handshake, and events trusted only after
Viva's API (a local server with Viva's documented shapes) confirms their transaction."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from locations.repository import Location
from orders.repository import TransactionRepository
from tests.payments.conftest import (
    VIVA_CLIENT_SECRET,
    VIVA_WEBHOOK_KEY,
    VivaApi,
    new_order,
    status_of,
)

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/viva-wallet"


def event(transaction_id: str, event_type: int = 1796, **data: Any) -> dict[str, Any]:
    """A Transaction Payment Created message as Viva posts it (abridged EventData)."""
    return {
        "Url": "https://backoffice.example.be/api/webhooks/viva-wallet",
        "EventData": {
            "Moto": False,
            "Amount": 35.40,
            "StatusId": "F",
            "OrderCode": 6962462482972601,
            "MerchantId": "1b3a9b2e-6d7c-4f5e-8a9b-0c1d2e3f4a5b",
            "CurrencyCode": "978",
            "TransactionId": transaction_id,
            "MerchantTrns": "",
            "ResponseCode": "00",
            "TransactionTypeId": 5,
            **data,
        },
        "Created": "2026-12-02T09:39:30.1234567Z",
        "CorrelationId": "c0a8bcf1-2d3e-4f5a-9b8c-7d6e5f4a3b2c",
        "EventTypeId": event_type,
        "Delay": None,
        "MessageId": "8d1c2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
        "RecipientId": "1b3a9b2e-6d7c-4f5e-8a9b-0c1d2e3f4a5b",
        "MessageTypeId": 512,
    }


def post(body: Any) -> Any:
    return APIClient().post(URL, json.dumps(body), content_type="application/json")


def test_the_get_handshake_answers_the_key_viva_gives_the_merchant(viva: VivaApi) -> None:
    response = APIClient().get(URL)

    assert response.status_code == 200
    assert response.json() == {"Key": VIVA_WEBHOOK_KEY}
    assert [(m, p) for m, p, _ in viva.requests] == [("GET", "/api/messages/config/token")]


def test_a_payment_is_confirmed_with_what_vivas_api_says(viva: VivaApi, location: Location) -> None:
    txn = new_order(location)
    transaction_id = viva.add(merchantTrns=txn.id, amount=35.40)

    response = post(event(transaction_id, MerchantTrns=txn.id))

    assert response.status_code == 200, response.content
    assert response.json() == {"detail": f"Order {txn.id} paid."}
    paid = TransactionRepository().get(txn.id)
    assert paid is not None and paid.payment is not None
    assert (paid.payment["provider"], paid.payment["reference"]) == ("viva-wallet", transaction_id)
    # OAuth2 client credentials first, then the transaction with the bearer token.
    assert [(m, p) for m, p, _ in viva.requests] == [
        ("POST", "/connect/token"),
        ("GET", f"/checkout/v2/transactions/{transaction_id}"),
    ]
    assert viva.requests[1][2] == f"Bearer {viva.issued_tokens[0]}"


def test_a_forged_event_that_viva_does_not_know_pays_nothing(
    viva: VivaApi, location: Location
) -> None:
    txn = new_order(location)
    forged = event("997ab1e3-e6ce-45c9-970d-4d902f27ce71", MerchantTrns=txn.id)

    response = post(forged)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Viva Wallet does not know this transaction; nothing was confirmed."
    }
    assert status_of(txn) == "pending"
    assert ("GET", "/checkout/v2/transactions/997ab1e3-e6ce-45c9-970d-4d902f27ce71") in [
        (m, p) for m, p, _ in viva.requests
    ]


def test_the_event_cannot_say_more_than_viva_an_unfinished_or_smaller_payment_pays_nothing(
    viva: VivaApi, location: Location
) -> None:
    txn = new_order(location)
    declined = viva.add(merchantTrns=txn.id, statusId="E")
    smaller = viva.add(merchantTrns=txn.id, amount=0.40)

    # The posted EventData claims a finished payment of the full amount both times.
    first = post(event(declined, MerchantTrns=txn.id, StatusId="F", Amount=35.40))
    second = post(event(smaller, MerchantTrns=txn.id, StatusId="F", Amount=35.40))

    assert first.json() == {"detail": "Ignored: Viva reports the transaction as 'E'."}
    assert second.status_code == 400
    assert second.json() == {
        "detail": "The amount 0.40 is not the order's total 35.40; it must be equal."
    }
    assert status_of(txn) == "pending"


def test_vivas_merchant_reference_names_the_order_not_the_event(
    viva: VivaApi, location: Location
) -> None:
    mine, other = new_order(location), new_order(location)
    transaction_id = viva.add(merchantTrns=mine.id)

    response = post(event(transaction_id, MerchantTrns=other.id))

    assert response.json() == {"detail": f"Order {mine.id} paid."}
    assert (status_of(mine), status_of(other)) == ("paid", "pending")


def test_a_viva_transaction_pays_one_order_only(viva: VivaApi, location: Location) -> None:
    first = new_order(location)
    transaction_id = viva.add(merchantTrns=first.id)
    assert post(event(transaction_id)).status_code == 200
    assert post(event(transaction_id)).json() == {
        "detail": f"Order {first.id} already paid with this payment."
    }

    second = new_order(location)
    viva.transactions[transaction_id]["merchantTrns"] = second.id  # as if Viva said otherwise
    reused = post(event(transaction_id))

    assert reused.status_code == 409
    assert status_of(second) == "pending"


def test_other_events_and_bad_bodies(viva: VivaApi, location: Location) -> None:
    assert post(event("x", event_type=1797)).json() == {
        "detail": "Ignored: event type 1797 is not handled."
    }
    assert post(event("not-a-uuid")).status_code == 400
    assert post([1, 2]).status_code == 400
    assert APIClient().post(URL, b"{", content_type="application/json").status_code == 400
    assert viva.requests == []  # nothing worth checking was asked of Viva


def test_wrong_client_credentials_or_viva_down_answer_503_so_viva_delivers_again(
    settings: Any, viva: VivaApi, location: Location
) -> None:
    txn = new_order(location)
    transaction_id = viva.add(merchantTrns=txn.id)
    settings.VIVA_CLIENT_SECRET = "not-the-secret"

    refused = post(event(transaction_id))

    settings.VIVA_CLIENT_SECRET = VIVA_CLIENT_SECRET
    settings.VIVA_API_URL = settings.VIVA_ACCOUNTS_URL = "http://127.0.0.1:9"
    down = post(event(transaction_id))

    assert (refused.status_code, down.status_code) == (503, 503)
    assert "not-the-secret" not in refused.content.decode()
    assert status_of(txn) == "pending"


def test_without_credentials_nothing_is_asked_and_nothing_is_paid(
    settings: Any, location: Location
) -> None:
    settings.VIVA_CLIENT_ID = settings.VIVA_CLIENT_SECRET = ""
    settings.VIVA_MERCHANT_ID = settings.VIVA_API_KEY = ""
    txn = new_order(location)

    assert post(event("997ab1e3-e6ce-45c9-970d-4d902f27ce71")).json() == {
        "detail": "Viva Wallet webhooks are not enabled on this server."
    }
    assert APIClient().get(URL).status_code == 404
    assert status_of(txn) == "pending"
