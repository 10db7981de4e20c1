"""A register whose answers carry no Signature is refused, unless the integration explicitly
allows unsigned answers (protocol page, section 3). The register here is a real HTTP server on
loopback that answers plain, unsigned JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from locations.repository import Location
from tests.integrations.conftest import RecordingClient, connect_body

pytestmark = pytest.mark.django_db

ANSWERS = {
    "test": {
        "status": "ok",
        "system": {"name": "Old register", "version": "0.9", "register": "R1"},
    },
    "GetPaymentTypes": {"payment_types": [{"id": "PT3", "name": "Webshop"}]},
}


class UnsignedRegister(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(ANSWERS.get(self.path.rsplit("/", 1)[-1], {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def unsigned_register() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), UnsignedRegister)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/kassanet/"
    finally:
        server.shutdown()
        server.server_close()


def url(location: Location, suffix: str = "") -> str:
    return f"/api/backoffice/kassanet/hendrickx/{location.id}{suffix}"


def test_unsigned_answers_fail_the_connection_test_by_default(
    api: RecordingClient, location: Location, unsigned_register: str
) -> None:
    body = connect_body(base_url=unsigned_register, enable_encryption=False)
    saved = api.post(url(location), body, format="json").json()
    assert saved["settings"]["allow_unsigned_responses"] is False

    result = api.get(url(location, "/test")).json()

    assert result["connected"] is False
    assert result["message"].startswith(
        "Connection test failed: The register's answer is not signed"
    )


def test_an_integration_that_allows_unsigned_answers_connects_and_says_so(
    api: RecordingClient, location: Location, unsigned_register: str
) -> None:
    body = connect_body(
        base_url=unsigned_register, enable_encryption=False, allow_unsigned_responses=True
    )
    assert api.post(url(location), body, format="json").status_code == 200

    result = api.get(url(location, "/test")).json()
    assert result["connected"] is True, result

    details = api.get(url(location, "/")).json()
    assert details["settings"]["allow_unsigned_responses"] is True
    # Saving settings again without the flag keeps it; false turns it off.
    api.post(url(location), {"sync_time": "07:30"}, format="json")
    assert api.get(url(location, "/")).json()["settings"]["allow_unsigned_responses"] is True
    api.post(url(location), {"allow_unsigned_responses": False}, format="json")
    assert api.get(url(location, "/")).json()["settings"]["allow_unsigned_responses"] is False
    assert api.get(url(location, "/test")).json()["connected"] is False


def test_the_flag_must_be_a_real_boolean(api: RecordingClient, location: Location) -> None:
    response = api.post(url(location), connect_body(allow_unsigned_responses="yes"), format="json")
    assert response.status_code == 400
    assert "allow_unsigned_responses" in response.json()
