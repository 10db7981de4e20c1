"""Hashed, expiring tokens with one role each, and the commands that issue them."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, VendorMembership
from accounts.roles import PAYMENTS, SUPPORT
from accounts.services import ensure_vendor_user
from tests.tokens import client_with

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_only_a_digest_of_the_token_is_stored_and_it_expires(indexed_db: Any) -> None:
    lines = run("create_api_token", "carol", "--vendor", "Carol Cafes", "--ttl-days", "30")

    token = lines[-1]
    stored = ApiToken.objects.get()
    assert token not in {stored.digest, stored.token_key}
    assert len(stored.digest) == 128 and token.startswith(stored.token_key)  # SHA-512 hex
    assert stored.role == "admin"
    assert stored.expiry is not None
    assert abs(stored.expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert lines[1].startswith("Role admin; the token expires ")


def test_an_expired_token_is_refused_and_removed(indexed_db: Any) -> None:
    token = ensure_vendor_user("carol", "Carol Cafes").token
    client = client_with(token)
    assert client.get("/api/backoffice/locations").status_code == 200

    ApiToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/backoffice/locations")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert not ApiToken.objects.exists()


def test_an_existing_user_is_never_moved_to_another_vendor_silently(indexed_db: Any) -> None:
    first = run("create_api_token", "dave", "--vendor", "Dave's Diner")[-1]

    with pytest.raises(CommandError) as refused:
        run("create_api_token", "dave", "--vendor", "Eve's Eatery")

    assert str(refused.value) == (
        "User dave belongs to vendor Dave's Diner; pass --move-vendor to move it to Eve's Eatery."
    )
    assert VendorMembership.objects.get(user__username="dave").vendor.name == "Dave's Diner"
    assert client_with(first).get("/api/backoffice/locations").status_code == 200
    # Without --vendor, or with its own vendor, it just gets another token.
    assert run("create_api_token", "dave")[0] == "User dave belongs to vendor Dave's Diner."
    assert run("create_api_token", "dave", "--vendor", "Dave's Diner")[0].endswith("Diner.")


def test_move_vendor_moves_the_user_and_revokes_its_older_tokens(indexed_db: Any) -> None:
    old = run("create_api_token", "dave", "--vendor", "Dave's Diner")[-1]

    lines = run("create_api_token", "dave", "--vendor", "Eve's Eatery", "--move-vendor")

    assert lines[0] == "User dave belongs to vendor Eve's Eatery."
    assert lines[1] == "Revoked its 1 token(s) of the previous vendor."
    assert client_with(old).get("/api/backoffice/locations").status_code == 401
    assert client_with(lines[-1]).get("/api/backoffice/locations").status_code == 200
    assert VendorMembership.objects.get(user__username="dave").vendor.name == "Eve's Eatery"


def test_a_channel_token_reads_but_cannot_change_the_setup(indexed_db: Any) -> None:
    run("create_api_token", "owner", "--vendor", "Gent Foods")
    token = run("create_api_token", "kiosk-1", "--vendor", "Gent Foods", "--role", "channel")[-1]
    kiosk = client_with(token)

    assert ApiToken.objects.get(user__username="kiosk-1").role == "channel"
    assert kiosk.get("/api/backoffice/locations").status_code == 200
    created = kiosk.post(
        "/api/backoffice/locations",
        {"name": "Gent", "timezone": "Europe/Brussels", "currency": "EUR"},
        format="json",
    )
    assert created.status_code == 403
    assert created.json() == {
        "detail": "This needs a token with the role admin; yours has the role channel."
    }


def test_create_service_token_prints_a_payments_or_support_token_last(indexed_db: Any) -> None:
    payments = run("create_service_token", "payments")
    support = run("create_service_token", "support", "--ttl-days", "7")

    assert payments[0].startswith("Service user service-payments, role payments; the token ")
    assert support[0].startswith("Service user service-support, role support; the token ")
    roles = {t.user.username: t.role for t in ApiToken.objects.select_related("user")}
    assert roles == {"service-payments": PAYMENTS, "service-support": SUPPORT}
    assert not VendorMembership.objects.exists()
    assert client_with(support[-1]).get("/api/backoffice/locations").status_code == 200
    assert client_with(payments[-1]).get("/api/backoffice/locations").status_code == 403


def test_roles_are_checked_by_the_commands(indexed_db: Any) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'admin'"):
        run("create_service_token", "admin")
    with pytest.raises(CommandError, match="invalid choice: 'payments'"):
        run("create_api_token", "mallory", "--role", "payments")
    run("create_service_token", "payments")
    with pytest.raises(CommandError, match="service user; it has no vendor"):
        run("create_api_token", "service-payments", "--vendor", "Mallory's")
    with pytest.raises(CommandError, match="at least 1"):
        run("create_api_token", "mallory", "--ttl-days", "0")


def test_no_credentials_are_401_with_the_token_scheme() -> None:
    response = APIClient().get("/api/backoffice/locations")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_admin_lists_tokens_without_their_value_and_can_revoke_them(
    indexed_db: Any, admin_client: Any
) -> None:
    token = ensure_vendor_user("carol", "Carol Cafes").token
    stored = ApiToken.objects.get()

    listed = admin_client.get("/admin/accounts/apitoken/")
    revoked = admin_client.post(
        f"/admin/accounts/apitoken/{stored.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert listed.status_code == 200
    assert stored.token_key in listed.content.decode()
    assert token not in listed.content.decode()
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403
    assert revoked.status_code == 200
    assert client_with(token).get("/api/backoffice/locations").status_code == 401
