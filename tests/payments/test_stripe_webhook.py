"""`POST /api/webhooks/stripe`: only Stripe-signed, recent events pay an order.

The signatures here are computed by hand from Stripe's documented scheme
(`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret>`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from locations.repository import Location
from orders.repository import TransactionRepository
from tests.payments.conftest import new_order, status_of

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_0123456789abcdef0123456789abcdef"
URL = "/api/webhooks/stripe"


@pytest.fixture(autouse=True)
def stripe_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300


def succeeded(transaction_id: str, amount: int = 3540, pi: str = "pi_3Q", **extra: Any) -> bytes:
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": "payment_intent.succeeded",
        "livemode": False,
        "data": {
            "object": {
                "id": pi,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": "eur",
                "status": "succeeded",
                "metadata": {"transaction_id": transaction_id},
                **extra,
            }
        },
    }
    return json.dumps(event).encode()


def signature(body: bytes, timestamp: int | None = None, secret: str = SECRET) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post(body: bytes, sig: str | None) -> Any:
    headers = {} if sig is None else {"HTTP_STRIPE_SIGNATURE": sig}
    return APIClient().post(URL, body, content_type="application/json", **headers)


def test_a_signed_payment_intent_succeeded_pays_the_order_in_its_metadata(
    location: Location,
) -> None:
    txn = new_order(location)
    body = succeeded(txn.id)

    response = post(body, signature(body))

    assert response.status_code == 200, response.content
    assert response.json() == {"detail": f"Order {txn.id} paid."}
    paid = TransactionRepository().get(txn.id)
    assert paid is not None and paid.payment is not None
    assert (paid.status, paid.payment["provider"], paid.payment["reference"]) == (
        "paid",
        "stripe",
        "pi_3Q",
    )
    # Stripe delivers again: the same answer, nothing paid twice.
    again = post(body, signature(body))
    assert again.json() == {"detail": f"Order {txn.id} already paid with this payment."}


@pytest.mark.parametrize(
    "sig",
    [
        None,
        "t=1700000000",
        "garbage",
        "t={now},v1=" + "0" * 64,
    ],
    ids=["missing", "no-v1", "garbage", "wrong-mac"],
)
def test_an_unsigned_or_badly_signed_event_is_refused(location: Location, sig: str | None) -> None:
    txn = new_order(location)
    body = succeeded(txn.id)

    response = post(body, None if sig is None else sig.format(now=int(time.time())))

    assert response.status_code == 400
    assert "Stripe-Signature" in response.json()["detail"]
    assert status_of(txn) == "pending"


def test_an_event_signed_with_another_secret_or_edited_after_signing_is_refused(
    location: Location,
) -> None:
    txn = new_order(location)
    body = succeeded(txn.id)

    assert post(body, signature(body, secret="whsec_someone_else")).status_code == 400
    tampered = succeeded(txn.id, amount=1)
    assert post(tampered, signature(body)).status_code == 400
    assert status_of(txn) == "pending"


def test_the_secret_is_redacted_from_logs_and_never_answered(
    location: Location, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from upvendo.logging import REDACTED, RedactSecretsFilter

    txn = new_order(location)
    body = succeeded(txn.id)
    response = post(body, signature(body, secret="whsec_someone_else"))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "leaked %s", (SECRET,), None)

    RedactSecretsFilter().filter(record)

    assert SECRET not in response.content.decode()
    assert SECRET not in caplog.text
    assert record.getMessage() == f"leaked {REDACTED}"


def test_an_old_signed_event_is_refused_as_a_replay(location: Location) -> None:
    txn = new_order(location)
    body = succeeded(txn.id)

    stale = post(body, signature(body, timestamp=int(time.time()) - 301))
    recent = post(body, signature(body, timestamp=int(time.time()) - 200))

    assert stale.status_code == 400
    assert "too old" in stale.json()["detail"]
    assert recent.status_code == 200


def test_an_amount_or_currency_other_than_the_orders_pays_nothing(location: Location) -> None:
    txn = new_order(location)
    short = succeeded(txn.id, amount=3539)
    dollars = succeeded(txn.id, currency="usd")

    assert post(short, signature(short)).json() == {
        "detail": "The amount 35.39 is not the order's total 35.40; it must be equal."
    }
    assert post(dollars, signature(dollars)).json() == {
        "detail": "The currency usd is not the order's currency EUR; it must be equal."
    }
    assert status_of(txn) == "pending"


def test_a_payment_intent_cannot_pay_a_second_order(location: Location) -> None:
    first, second = new_order(location), new_order(location)
    one, two = succeeded(first.id, pi="pi_same"), succeeded(second.id, pi="pi_same")

    assert post(one, signature(one)).status_code == 200
    reused = post(two, signature(two))

    assert reused.status_code == 409
    assert reused.json() == {"detail": "The payment stripe pi_same already paid another order."}
    assert status_of(second) == "pending"


def test_other_events_and_foreign_payment_intents_are_acknowledged_and_ignored(
    location: Location,
) -> None:
    txn = new_order(location)
    failed = json.loads(succeeded(txn.id))
    failed["type"] = "payment_intent.payment_failed"
    failed_body = json.dumps(failed).encode()
    foreign = succeeded("", metadata={})
    missing = succeeded("65f0000000000000000000aa")

    assert post(failed_body, signature(failed_body)).json() == {
        "detail": "Ignored: payment_intent.payment_failed is not handled."
    }
    assert post(foreign, signature(foreign)).status_code == 200
    assert post(missing, signature(missing)).status_code == 404
    assert status_of(txn) == "pending"


def test_without_a_secret_the_endpoint_refuses_everything(
    settings: Any, location: Location
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""
    txn = new_order(location)
    body = succeeded(txn.id)

    response = post(body, signature(body, secret=""))

    assert response.status_code == 404
    assert response.json() == {"detail": "Stripe webhooks are not enabled on this server."}
    assert status_of(txn) == "pending"


def test_the_webhooks_have_their_own_rate_per_sending_address(
    settings: Any, location: Location
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/minute", "user": "off", "webhooks": "3/minute"},
    }
    txn = new_order(location)
    body = succeeded(txn.id)

    codes = [post(body, signature(body)).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]  # not cut at the anonymous rate of 1
