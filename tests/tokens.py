"""API tokens for tests: one small helper so every test gets its credentials the same way.

`ensure_vendor_user(...).token` stays the usual way to get a vendor's `admin` token; these
helpers add the other roles and the client that carries a token.
"""

from __future__ import annotations

from rest_framework.test import APIClient

from accounts.roles import ADMIN
from accounts.services import VendorUser, create_service_token, ensure_vendor_user


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def vendor_client(
    username: str, vendor_name: str | None = None, role: str = ADMIN
) -> tuple[APIClient, VendorUser]:
    """A client with a new token of `role` (admin or channel) for the vendor's user."""
    user = ensure_vendor_user(username, vendor_name, role=role)
    return client_with(user.token), user


def service_client(role: str) -> APIClient:
    """A client with a new token of the platform's `payments` or `support` service."""
    return client_with(create_service_token(role).token)
