"""The connection test end to end: the real API, the real simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.repository import IntegrationRepository
from integrations.signals import connection_restored
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location, LocationRepository
from tests.integrations.conftest import ENCRYPTION_TOKEN, SIGNATURE_KEY, RecordingClient

FAILED = "Connection test failed: "


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    with start_simulator(
        signature_key=SIGNATURE_KEY, encryption_token=ENCRYPTION_TOKEN, encrypt=True, products=3
    ) as sim:
        yield sim


@pytest.fixture
def restored() -> Iterator[list[str]]:
    received: list[str] = []

    def receiver(sender: Any, integration_id: str, **kwargs: Any) -> None:
        received.append(integration_id)

    connection_restored.connect(receiver)
    yield received
    connection_restored.disconnect(receiver)


def connect(api: RecordingClient, location: Location, sim: SimulatorHandle, **changes: Any) -> str:
    body = {
        "base_url": sim.base_url,
        "signature_key": SIGNATURE_KEY,
        "encryption_token": ENCRYPTION_TOKEN,
        "enable_encryption": True,
    } | changes
    response = api.post(f"/api/backoffice/kassanet/hendrickx/{location.id}", body, format="json")
    assert response.status_code == 200, response.content
    integration_id: str = response.json()["id"]
    return integration_id


def run_test(api: RecordingClient, location: Location) -> dict[str, Any]:
    response = api.get(f"/api/backoffice/kassanet/hendrickx/{location.id}/test")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_successful_test_stores_the_webshop_payment_type_and_connects(
    api: RecordingClient,
    location: Location,
    simulator: SimulatorHandle,
    repo: IntegrationRepository,
    restored: list[str],
) -> None:
    integration_id = connect(api, location, simulator)

    body = run_test(api, location)

    assert body["connected"] is True
    assert body["payment_type_id"] == "PT3"
    assert body["message"].startswith("Connected to ")
    assert set(body["system"]) == {"name", "version", "register"}
    integration = repo.get_by_id(integration_id)
    assert integration is not None
    assert integration.settings["payment_type_id"] == "PT3"
    assert integration.connection["status"] == "connected"
    mirrored = LocationRepository().get(location.id)
    assert mirrored is not None
    assert mirrored.pos_connection["hendrickx"]["status"] == "connected"
    assert repo.logs(integration_id)[0].message == body["message"]
    assert restored == [integration_id]  # it was "not tested yet", i.e. disconnected


def test_offline_register_answers_200_disconnected_with_the_reason(
    api: RecordingClient,
    location: Location,
    simulator: SimulatorHandle,
    repo: IntegrationRepository,
) -> None:
    integration_id = connect(api, location, simulator)
    simulator.set_faults(offline=True)

    body = run_test(api, location)

    assert body["connected"] is False
    assert body["system"] is None
    assert body["message"].startswith(FAILED)
    assert "The register could not be reached at that address" in body["message"]
    integration = repo.get_by_id(integration_id)
    assert integration is not None
    assert integration.connection == integration.connection | {
        "status": "disconnected",
        "message": body["message"],
    }
    mirrored = LocationRepository().get(location.id)
    assert mirrored is not None
    assert mirrored.pos_connection["hendrickx"]["message"] == body["message"]
    log = repo.logs(integration_id)[0]
    assert (log.level, log.event, log.message) == ("error", "connection_test", body["message"])


def test_wrong_encryption_token_says_the_token_does_not_match(
    api: RecordingClient, location: Location, simulator: SimulatorHandle
) -> None:
    connect(api, location, simulator, encryption_token="a-wrong-token-entirely")

    body = run_test(api, location)

    assert body["connected"] is False
    assert body["message"].startswith(FAILED)
    assert "Blowfish decryption error" in body["message"] or (
        "Invalid base64 input" in body["message"]
    )


def test_encryption_flag_off_against_an_encrypting_register_fails_with_the_reason(
    api: RecordingClient, location: Location, simulator: SimulatorHandle
) -> None:
    connect(api, location, simulator, enable_encryption=False)

    body = run_test(api, location)

    assert body["connected"] is False
    assert body["message"].startswith(FAILED)


def test_a_register_without_a_webshop_payment_type_fails_and_says_so(
    api: RecordingClient,
    location: Location,
    simulator: SimulatorHandle,
    repo: IntegrationRepository,
) -> None:
    catalog = simulator.catalog()
    catalog["payment_types"] = [{"id": "PT1", "name": "Cash"}, {"id": "PT2", "name": "Card"}]
    simulator.set_catalog(catalog)
    integration_id = connect(api, location, simulator)

    body = run_test(api, location)

    assert body["connected"] is False
    assert body["message"] == (
        "Connection test failed: the register has no payment type named Webshop "
        "(it has: Card, Cash); add one in the register and test again"
    )
    integration = repo.get_by_id(integration_id)
    assert integration is not None
    assert "payment_type_id" not in integration.settings


def test_connection_restored_is_sent_only_when_a_disconnected_integration_reconnects(
    api: RecordingClient,
    location: Location,
    simulator: SimulatorHandle,
    restored: list[str],
) -> None:
    integration_id = connect(api, location, simulator)
    assert run_test(api, location)["connected"] is True
    assert run_test(api, location)["connected"] is True
    assert restored == [integration_id]  # the second success was not a restoration

    simulator.set_faults(offline=True)
    assert run_test(api, location)["connected"] is False
    simulator.set_faults(offline=False)
    assert run_test(api, location)["connected"] is True

    assert restored == [integration_id, integration_id]


def test_testing_without_an_integration_is_404(api: RecordingClient, location: Location) -> None:
    response = api.get(f"/api/backoffice/kassanet/vanhoutte/{location.id}/test/")

    assert response.status_code == 404
    assert response.json() == {"detail": "This location has no Vanhoutte integration."}
