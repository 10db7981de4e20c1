from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from rest_framework.test import APIClient


def test_create_api_token_prints_a_working_token_last(db: Any, indexed_db: Any) -> None:
    out = io.StringIO()

    call_command("create_api_token", "carol", "--vendor", "Carol Cafes", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "User carol belongs to vendor Carol Cafes."
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {lines[-1]}")
    assert client.get("/api/backoffice/locations").json() == []


def test_an_invalid_token_is_401(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    response = client.get("/api/backoffice/locations")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
