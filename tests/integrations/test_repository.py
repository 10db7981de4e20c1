from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from pymongo.database import Database

from integrations.credentials import CredentialsDecryptionError
from integrations.repository import MAX_LOGS, IntegrationRepository
from locations.repository import Location, LocationRepository
from tests.integrations.conftest import ENCRYPTION_TOKEN, SIGNATURE_KEY, credentials


def test_concurrent_connects_leave_exactly_one_integration(
    location: Location, repo: IntegrationRepository, indexed_db: Database[dict[str, Any]]
) -> None:
    # given ten saves of the same (location, provider) at once, each with its own sync time
    def save(n: int) -> str:
        return repo.upsert(location.id, "hendrickx", credentials(), {"sync_time": f"0{n}:00"}).id

    # when they run concurrently
    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(save, range(10)))

    # then they all updated one document
    assert len(set(ids)) == 1
    assert indexed_db["integrations"].count_documents({}) == 1
    stored = repo.get(location.id, "hendrickx")
    assert stored is not None
    assert stored.settings["sync_time"] in {f"0{n}:00" for n in range(10)}


def test_upsert_updates_in_place_and_keeps_other_settings(
    location: Location, repo: IntegrationRepository
) -> None:
    first = repo.upsert(location.id, "hendrickx", credentials(), {"sync_time": "06:00"})
    repo.update_settings(first.id, payment_type_id="PT3", tables=[1, 2])

    second = repo.upsert(
        location.id, "hendrickx", credentials(base_url="https://other.example/"), {}
    )

    assert second.id == first.id
    assert second.created_at == first.created_at
    assert second.credentials.base_url == "https://other.example/"
    assert second.settings == {"sync_time": "06:00", "payment_type_id": "PT3", "tables": [1, 2]}


def test_credentials_are_encrypted_at_rest(
    location: Location, repo: IntegrationRepository, indexed_db: Database[dict[str, Any]]
) -> None:
    repo.upsert(location.id, "hendrickx", credentials(), {})

    raw = indexed_db["integrations"].find_one()
    assert raw is not None
    text = repr(raw)
    assert SIGNATURE_KEY not in text
    assert ENCRYPTION_TOKEN not in text
    assert set(raw["credentials"]) == {"base_url", "enable_encryption", "secrets"}
    loaded = repo.get(location.id, "hendrickx")
    assert loaded is not None
    assert loaded.credentials == credentials()
    assert SIGNATURE_KEY not in repr(loaded)


def test_rotation_reencrypts_with_the_new_key_and_the_old_key_can_go(
    location: Location, repo: IntegrationRepository, settings: Any
) -> None:
    old_key = settings.CREDENTIALS_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    repo.upsert(location.id, "hendrickx", credentials(), {})
    settings.CREDENTIALS_ENCRYPTION_KEYS = [new_key, old_key]

    out = io.StringIO()
    call_command("rotate_credentials_key", stdout=out)

    assert out.getvalue() == "Re-encrypted the credentials of 1 integration(s).\n"

    settings.CREDENTIALS_ENCRYPTION_KEYS = [new_key]
    loaded = repo.get(location.id, "hendrickx")
    assert loaded is not None
    assert loaded.credentials == credentials()
    settings.CREDENTIALS_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(CredentialsDecryptionError):
        repo.get(location.id, "hendrickx")


def test_set_connection_mirrors_on_the_location_and_returns_the_previous_status(
    location: Location, repo: IntegrationRepository
) -> None:
    integration = repo.upsert(location.id, "vanhoutte", credentials(), {})
    assert integration.connection["status"] == "disconnected"

    previous = repo.set_connection(integration.id, "connected", "ok")

    assert previous == "disconnected"
    assert repo.set_connection(integration.id, "connected", "ok") == "connected"
    mirrored = LocationRepository().get(location.id)
    assert mirrored is not None
    assert mirrored.pos_connection["vanhoutte"]["status"] == "connected"
    assert mirrored.pos_connection["vanhoutte"]["message"] == "ok"


def test_claim_sync_is_exclusive_until_finished_or_stale(
    location: Location, repo: IntegrationRepository, indexed_db: Database[dict[str, Any]]
) -> None:
    integration = repo.upsert(location.id, "hendrickx", credentials(), {})

    assert repo.claim_sync(integration.id, "run-1") is True
    assert repo.claim_sync(integration.id, "run-2") is False
    assert repo.update_sync_status(integration.id, "run-2", stage="products") is False
    assert repo.update_sync_status(integration.id, "run-1", stage="products") is True
    assert repo.finish_sync(integration.id, "run-1", "success", "Imported.", {"items": 3})
    assert repo.claim_sync(integration.id, "run-2") is True

    # a run whose last progress is older than stale_after can be taken over
    indexed_db["integrations"].update_one(
        {}, {"$set": {"sync_status.updated_at": datetime.now(UTC) - timedelta(hours=1)}}
    )
    assert repo.claim_sync(integration.id, "run-3", stale_after=timedelta(minutes=30))
    status = repo.get_by_id(integration.id)
    assert status is not None
    assert status.sync_status["run_id"] == "run-3"
    assert status.sync_status["status"] == "in_progress"
    assert status.sync_status["last_sync"] is not None


def test_logs_are_newest_first_bounded_and_collapse_repeats(
    location: Location, repo: IntegrationRepository
) -> None:
    integration = repo.upsert(location.id, "hendrickx", credentials(), {})
    repo.append_log(integration.id, "error", "connection_test", "down")
    repo.append_log(integration.id, "error", "connection_test", "down")
    repo.append_log(integration.id, "info", "connection_test", "up")

    logs = repo.logs(integration.id)
    assert [(e.message, e.count) for e in logs] == [("up", 1), ("down", 2)]

    for n in range(MAX_LOGS + 5):
        repo.append_log(integration.id, "info", "tick", f"tick {n}")
    logs = repo.logs(integration.id)
    assert len(logs) == MAX_LOGS
    assert logs[0].message == f"tick {MAX_LOGS + 4}"


def test_named_queries(location: Location, repo: IntegrationRepository) -> None:
    with_time = repo.upsert(location.id, "hendrickx", credentials(), {"sync_time": "05:00"})
    without = repo.upsert(location.id, "vanhoutte", credentials(), {"sync_time": None})
    repo.set_connection(without.id, "connected")

    assert [i.id for i in repo.all_with_sync_time()] == [with_time.id]
    assert [i.id for i in repo.list_by_connection_status("connected")] == [without.id]
    assert [i.id for i in repo.list_by_connection_status("disconnected")] == [with_time.id]
    assert repo.delete(location.id, "vanhoutte") is True
    assert repo.delete(location.id, "vanhoutte") is False
