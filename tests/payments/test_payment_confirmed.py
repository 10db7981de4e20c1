"""`payment-confirmed` is for the payments service only, and a payment pays one order."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import CHANNEL, SUPPORT
from accounts.services import VendorUser
from locations.repository import Location
from orders.repository import TransactionRepository
from tests.payments.conftest import new_order, status_of
from tests.tokens import service_client, vendor_client

pytestmark = pytest.mark.django_db


def confirm(api: Any, txn_id: str, reference: str = "pi_1", amount: str = "35.40") -> Any:
    return api.post(
        f"/api/backoffice/transactions/{txn_id}/payment-confirmed",
        {
            "amount": amount,
            "currency": "EUR",
            "payment_provider": "stripe",
            "payment_reference": reference,
        },
        format="json",
    )


def test_a_vendor_admin_token_cannot_mark_its_own_order_paid(
    admin_api: APIClient, location: Location
) -> None:
    txn = new_order(location)

    response = confirm(admin_api, txn.id)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This needs a token with the role payments; yours has the role admin."
    }
    assert status_of(txn) == "pending"


def test_a_channel_or_support_token_cannot_mark_an_order_paid(location: Location) -> None:
    txn = new_order(location)
    kiosk, _ = vendor_client("kiosk-1", "Alice's", role=CHANNEL)

    assert confirm(kiosk, txn.id).status_code == 403
    assert confirm(service_client(SUPPORT), txn.id).status_code == 403
    assert status_of(txn) == "pending"


def test_a_logged_in_page_user_cannot_mark_an_order_paid(
    vendor_user: VendorUser, location: Location
) -> None:
    txn = new_order(location)
    vendor_user.user.set_password("alice-password-123")
    vendor_user.user.save()
    page = Client(enforce_csrf_checks=False)
    page.force_login(vendor_user.user)

    response = page.post(
        f"/api/backoffice/transactions/{txn.id}/payment-confirmed",
        {"amount": "35.40", "currency": "EUR", "payment_provider": "x", "payment_reference": "y"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert status_of(txn) == "pending"


def test_the_payments_token_confirms_any_vendors_order(
    payments_api: APIClient, location: Location
) -> None:
    txn = new_order(location)

    response = confirm(payments_api, txn.id)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["payment"]["amount"], body["payment"]["reference"]) == (
        "paid",
        "35.40",
        "pi_1",
    )


def test_a_payment_reference_that_paid_one_order_cannot_pay_another(
    payments_api: APIClient, location: Location
) -> None:
    first, second = new_order(location), new_order(location)
    assert confirm(payments_api, first.id, reference="pi_shared").status_code == 200

    reused = confirm(payments_api, second.id, reference="pi_shared")

    assert reused.status_code == 409
    assert reused.json() == {"detail": "The payment stripe pi_shared already paid another order."}
    assert status_of(second) == "pending"
    # The same provider with another reference, or another provider with it, is another payment.
    assert confirm(payments_api, second.id, reference="pi_other").status_code == 200


def test_the_unique_index_holds_the_pair_even_without_the_service(
    indexed_db: Any, location: Location
) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from pymongo.errors import DuplicateKeyError

    repository = TransactionRepository()
    first, second = new_order(location), new_order(location)
    pay: dict[str, Any] = {
        "amount": Decimal("35.40"),
        "payment_provider": "viva-wallet",
        "payment_reference": "997ab1e3-e6ce-45c9-970d-4d902f27ce71",
        "push_provider": None,
        "integration_id": None,
        "pos_message": "",
        "now": datetime.now(UTC),
    }
    assert repository.confirm_payment(first.id, **pay) is not None
    with pytest.raises(DuplicateKeyError):
        repository.confirm_payment(second.id, **pay)
