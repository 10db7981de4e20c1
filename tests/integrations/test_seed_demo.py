from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from knox.crypto import hash_token
from rest_framework.test import APIClient

from accounts.models import ApiToken
from integrations.repository import IntegrationRepository
from kassanet.testing import start_simulator


def test_seed_demo_connects_the_demo_pos_and_ends_with_a_curl(db: Any, indexed_db: Any) -> None:
    with start_simulator(
        signature_key="demo-sig-key", encryption_token="demo-token", products=3
    ) as sim:
        out = io.StringIO()
        for _ in range(2):  # idempotent
            call_command(
                "seed_demo",
                "--pos-url", sim.base_url,
                "--pos-signature-key", "demo-sig-key",
                "--pos-encryption-token", "demo-token",
                stdout=out,
            )  # fmt: skip

    lines = out.getvalue().splitlines()
    assert indexed_db["integrations"].count_documents({}) == 1
    integration = IntegrationRepository().list_by_connection_status("connected")[0]
    assert integration.settings["payment_type_id"] == "PT3"
    assert integration.credentials.enable_encryption is True
    assert lines[-2].startswith(f"Demo POS:       Hendrickx at {sim.base_url}: Connected to ")
    assert lines[-1].startswith("Try: curl -H 'Authorization: Token ")
    assert lines[-1].endswith(f"/api/backoffice/kassanet/hendrickx/{integration.location_id}/")
    assert "demo-sig-key" not in out.getvalue()
    # The printed token is the demo vendor's admin token: it works on the curl's URL.
    token = next(line for line in lines if line.startswith("Demo API token: ")).split()[-1]
    assert ApiToken.objects.get(digest=hash_token(token)).role == "admin"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert (
        client.get(f"/api/backoffice/kassanet/hendrickx/{integration.location_id}/").status_code
        == 200
    )
