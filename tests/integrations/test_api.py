from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo.database import Database

from accounts.roles import ADMIN
from accounts.services import ensure_vendor_user, issue_token
from integrations import validation
from integrations.events import reload_menu_channel
from integrations.imported_data import IMPORTED_COLLECTIONS
from integrations.repository import IntegrationRepository
from locations.repository import Location, LocationRepository
from tests.integrations.conftest import (
    ENCRYPTION_TOKEN,
    SIGNATURE_KEY,
    RecordingClient,
    connect_body,
)
from upvendo.redis import get_redis


def url(location_id: str, provider: str = "hendrickx", suffix: str = "") -> str:
    return f"/api/backoffice/kassanet/{provider}/{location_id}{suffix}"


# -- connect -----------------------------------------------------------------------------------


def test_connect_saves_encrypted_credentials_and_answers_masked(
    api: RecordingClient, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    response = api.post(url(location.id), connect_body(sync_time="07:30"), format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["provider"] == "hendrickx"
    assert body["location_id"] == location.id
    assert body["credentials"] == {
        "base_url": "https://127.0.0.1:9/kassanet/",
        "signature_key": "••••abcd",
        "encryption_token": "••••wxyz",
        "enable_encryption": True,
    }
    # Asia/Kolkata is UTC+05:30 all year
    assert body["settings"]["sync_time_local"] == "07:30"
    assert body["settings"]["sync_time"] == "02:00"
    assert body["connection"]["status"] == "disconnected"
    assert [(e["event"], e["count"]) for e in body["logs"]] == [("credentials_saved", 1)]
    stored = indexed_db["integrations"].find_one()
    assert stored is not None
    assert SIGNATURE_KEY not in json.dumps(stored, default=str)


def test_posting_again_updates_the_same_integration(
    api: RecordingClient, location: Location, indexed_db: Database[dict[str, Any]]
) -> None:
    first = api.post(url(location.id), connect_body(sync_time="07:30"), format="json").json()

    # sync_time omitted: kept
    second = api.post(
        url(location.id), connect_body(base_url="https://127.0.0.2/k/"), format="json"
    ).json()
    assert second["id"] == first["id"]
    assert second["credentials"]["base_url"] == "https://127.0.0.2/k/"
    assert second["settings"]["sync_time_local"] == "07:30"
    assert [(e["event"], e["count"]) for e in second["logs"]] == [("credentials_saved", 2)]

    # sync_time null: daily sync off
    third = api.post(url(location.id), connect_body(sync_time=None), format="json").json()
    assert third["settings"]["sync_time"] is None
    assert third["settings"]["sync_time_local"] is None
    assert indexed_db["integrations"].count_documents({}) == 1


def test_an_update_without_credentials_keeps_the_stored_ones(
    api: RecordingClient, location: Location
) -> None:
    api.post(url(location.id), connect_body(), format="json")

    response = api.post(url(location.id), {"sync_time": "06:15"}, format="json")

    assert response.status_code == 200
    assert response.json()["settings"]["sync_time_local"] == "06:15"
    stored = IntegrationRepository().get(location.id, "hendrickx")
    assert stored is not None
    assert (
        stored.credentials.base_url,
        stored.credentials.signature_key,
        stored.credentials.encryption_token,
        stored.credentials.enable_encryption,
    ) == ("https://127.0.0.1:9/kassanet/", SIGNATURE_KEY, ENCRYPTION_TOKEN, True)


def test_a_new_base_url_needs_both_secrets_in_the_same_request(
    api: RecordingClient, location: Location
) -> None:
    api.post(url(location.id), connect_body(), format="json")
    message = (
        "A new base_url needs the signature_key and encryption_token in the same request; "
        "the stored ones are never sent to another address."
    )

    alone = api.post(url(location.id), {"base_url": "https://127.0.0.2/k/"}, format="json")
    one_secret = api.post(
        url(location.id),
        {"base_url": "https://127.0.0.2/k/", "signature_key": "a-new-signature-key"},
        format="json",
    )
    same_url = api.post(
        url(location.id), {"base_url": "https://127.0.0.1:9/kassanet/"}, format="json"
    )
    both = api.post(
        url(location.id),
        {
            "base_url": "https://127.0.0.2/k/",
            "signature_key": "a-new-signature-key",
            "encryption_token": "a-new-encryption-token",
        },
        format="json",
    )

    assert alone.status_code == one_secret.status_code == 400
    assert alone.json() == {"signature_key": [message], "encryption_token": [message]}
    assert one_secret.json() == {"encryption_token": [message]}
    assert same_url.status_code == 200  # not a change
    assert both.status_code == 200
    stored = IntegrationRepository().get(location.id, "hendrickx")
    assert stored is not None
    assert (stored.credentials.base_url, stored.credentials.signature_key) == (
        "https://127.0.0.2/k/",
        "a-new-signature-key",
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"base_url": "pos.example.be"}, "base_url", "Enter an absolute http(s) URL"),
        ({"base_url": "ftp://pos.example.be/"}, "base_url", "Enter an absolute http(s) URL"),
        ({"base_url": "http://pos.example.be/"}, "base_url", "Use https"),
        ({"base_url": "https://u:p@127.0.0.1/"}, "base_url", "Do not put a user name"),
        ({"base_url": "https://169.254.169.254/"}, "base_url", "cloud metadata address"),
        ({"base_url": "https://[fd00:ec2::254]/"}, "base_url", "cloud metadata address"),
        ({"base_url": "https://169.254.10.1/"}, "base_url", "link-local address"),
        ({"base_url": "https://[fe80::1]/"}, "base_url", "link-local address"),
        ({"base_url": "https://[::ffff:169.254.169.254]/"}, "base_url", "cloud metadata"),
        ({"base_url": "https://2852039166/"}, "base_url", "cloud metadata address"),
        ({"base_url": "https://0.0.0.0/"}, "base_url", "unspecified address"),
        ({"base_url": "https://metadata.google.internal/"}, "base_url", "metadata service"),
        ({"base_url": "https://127.0.0.1:99999/"}, "base_url", "Enter a valid URL"),
        ({"signature_key": ""}, "signature_key", "This field may not be blank."),
        ({"signature_key": "k" * 257}, "signature_key", "no more than 256 characters"),
        ({"encryption_token": ""}, "encryption_token", "This field may not be blank."),
        ({"encryption_token": "t" * 73}, "encryption_token", "at most 72 bytes"),
        ({"encryption_token": "é" * 37}, "encryption_token", "at most 72 bytes"),
        ({"enable_encryption": "yes"}, "enable_encryption", "Must be true or false."),
        ({"sync_time": "7:30"}, "sync_time", "Use HH:mm"),
        ({"sync_time": "24:00"}, "sync_time", "hours 00-23"),
        ({"sync_time": "12:60"}, "sync_time", "minutes 00-59"),
        ({"colour": "red"}, "colour", "Unknown field; remove it."),
    ],
)
def test_connect_refuses_invalid_input_with_a_field_error(
    api: RecordingClient,
    location: Location,
    indexed_db: Database[dict[str, Any]],
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = api.post(url(location.id), connect_body(**changes), format="json")

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert indexed_db["integrations"].count_documents({}) == 0


def test_connect_requires_every_credential_field(api: RecordingClient, location: Location) -> None:
    response = api.post(url(location.id), {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        name: ["This field is required."]
        for name in ("base_url", "signature_key", "encryption_token", "enable_encryption")
    }


def test_connect_accepts_a_72_byte_token_and_plain_http_for_loopback(
    api: RecordingClient, location: Location
) -> None:
    body = connect_body(base_url="http://127.0.0.1:8765/kassanet/", encryption_token="t" * 72)

    assert api.post(url(location.id), body, format="json").status_code == 200


def test_hostname_resolving_to_a_link_local_address_is_refused(
    api: RecordingClient, location: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "resolve_host", lambda host: ["203.0.113.5", "169.254.169.254"])

    response = api.post(
        url(location.id), connect_body(base_url="https://pos.example.be/"), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "base_url": [
            "pos.example.be resolves to 169.254.169.254, which is a cloud metadata address; "
            "it cannot be a POS."
        ]
    }


def test_hostname_is_accepted_when_dns_does_not_answer(
    api: RecordingClient, location: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "resolve_host", lambda host: None)

    response = api.post(
        url(location.id), connect_body(base_url="https://pos.example.be/"), format="json"
    )

    assert response.status_code == 200


def test_resolve_host_answers_addresses_for_a_literal_name() -> None:
    assert "127.0.0.1" in (validation.resolve_host("127.0.0.1") or [])


# -- details ------------------------------------------------------------------------------------


def test_details_show_settings_status_and_newest_logs_first(
    api: RecordingClient, location: Location, repo: IntegrationRepository
) -> None:
    created = api.post(url(location.id), connect_body(), format="json").json()
    repo.append_log(created["id"], "error", "connection_test", "Connection test failed: x")
    repo.append_log(created["id"], "error", "connection_test", "Connection test failed: x")
    repo.update_settings(created["id"], payment_type_id="PT3", tables=[1, 2])

    response = api.get(url(location.id, suffix="/"))

    assert response.status_code == 200
    body = response.json()
    assert body["settings"] == {
        "sync_time": None,
        "sync_time_local": None,
        "next_run_time": None,
        "tables": [1, 2],
        "table_section_id": None,
        "payment_type_id": "PT3",
        "allow_unsigned_responses": False,
        "max_delete_share": None,
        "stock_refresh_minutes": 5,
    }
    assert body["sync_status"] == {
        "status": None,
        "message": "",
        "stage": None,
        "details": {},
        "last_sync": None,
    }
    assert [(e["message"], e["count"]) for e in body["logs"]] == [
        ("Connection test failed: x", 2),
        ("Credentials and settings saved.", 1),
    ]
    assert body["credentials"]["signature_key"] == "••••abcd"


def test_details_without_an_integration_are_404(api: RecordingClient, location: Location) -> None:
    response = api.get(url(location.id, "vanhoutte", "/"))

    assert response.status_code == 404
    assert response.json() == {"detail": "This location has no Vanhoutte integration."}


# -- delete -------------------------------------------------------------------------------------


def test_delete_removes_the_integration_and_only_what_it_imported(
    api: RecordingClient,
    location: Location,
    repo: IntegrationRepository,
    indexed_db: Database[dict[str, Any]],
) -> None:
    # given both providers connected, records each imported, and hand-made records
    hendrickx = api.post(url(location.id), connect_body(), format="json").json()
    api.post(url(location.id, "vanhoutte"), connect_body(), format="json")
    repo.set_connection(hendrickx["id"], "connected", "ok")
    other_location = str(ObjectId())
    for name in IMPORTED_COLLECTIONS:
        # bare records: the collections' own unique indexes are the importers' business
        indexed_db[name].drop_indexes()
        indexed_db[name].insert_many(
            [
                {"location_id": location.id, "imported_by": "hendrickx", "n": 1},
                {"location_id": location.id, "imported_by": "vanhoutte", "n": 2},
                {"location_id": location.id, "n": 3},
                {"location_id": other_location, "imported_by": "hendrickx", "n": 4},
            ]
        )
    pubsub = get_redis().pubsub()
    pubsub.subscribe(reload_menu_channel())
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"  # type: ignore[index]

    # when hendrickx is disconnected
    response = api.delete(url(location.id))

    # then
    assert response.status_code == 204
    assert repo.get(location.id, "hendrickx") is None
    assert repo.get(location.id, "vanhoutte") is not None
    for name in IMPORTED_COLLECTIONS:
        assert sorted(doc["n"] for doc in indexed_db[name].find()) == [2, 3, 4], name
    mirrored = LocationRepository().get(location.id)
    assert mirrored is not None
    assert "hendrickx" not in mirrored.pos_connection
    event = indexed_db["events"].find_one({}, {"_id": 0, "created_at": 0})
    assert event == {
        "type": "ReloadMenu",
        "location_id": location.id,
        "provider": "hendrickx",
        "reason": "Hendrickx disconnected",
    }
    message = pubsub.get_message(timeout=2)
    assert message is not None
    published = json.loads(message["data"])
    assert published["type"] == "ReloadMenu"
    assert published["location_id"] == location.id
    assert datetime.fromisoformat(published["created_at"]).tzinfo == UTC
    pubsub.close()

    # and a second delete finds nothing
    assert api.delete(url(location.id, suffix="/")).status_code == 404


# -- routing, authentication, access ------------------------------------------------------------

ENDPOINTS = [("post", ""), ("get", "/"), ("delete", ""), ("get", "/test")]


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
def test_unknown_provider_is_404(
    api: RecordingClient, location: Location, method: str, suffix: str
) -> None:
    response = getattr(api, method)(url(location.id, "lightspeed", suffix), format="json")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Unknown POS provider 'lightspeed'; use one of hendrickx, vanhoutte."
    }


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
def test_every_endpoint_requires_authentication(
    location: Location, method: str, suffix: str
) -> None:
    response = getattr(RecordingClient(), method)(url(location.id, suffix=suffix))

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
def test_another_vendors_location_answers_like_a_missing_one(
    api: RecordingClient,
    other_api: RecordingClient,
    location: Location,
    repo: IntegrationRepository,
    method: str,
    suffix: str,
) -> None:
    api.post(url(location.id), connect_body(), format="json")

    theirs = getattr(other_api, method)(url(location.id, suffix=suffix), connect_body(), "json")
    missing = getattr(other_api, method)(
        url(str(ObjectId()), suffix=suffix), connect_body(), "json"
    )
    garbage = getattr(other_api, method)(url("not-an-id", suffix=suffix), connect_body(), "json")

    assert theirs.status_code == missing.status_code == garbage.status_code == 404
    assert (
        theirs.content == missing.content == garbage.content == b'{"detail":"Location not found."}'
    )
    assert repo.get(location.id, "hendrickx") is not None


def test_session_authentication_is_accepted(location: Location, alice: Any) -> None:
    user = ensure_vendor_user("alice", password="alice-password-123").user
    client = RecordingClient()
    client.force_login(user)

    assert client.get(url(location.id, suffix="/")).status_code == 404  # no integration yet


def test_a_user_without_a_vendor_is_forbidden(location: Location, django_user_model: Any) -> None:
    user = django_user_model.objects.create(username="stray")
    client = RecordingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user, ADMIN)[1]}")

    response = client.get(url(location.id, suffix="/"))

    assert response.status_code == 403
    assert "does not belong to a vendor" in response.json()["detail"]


def test_a_refused_body_does_not_echo_the_secrets(api: RecordingClient, location: Location) -> None:
    response = api.post(url(location.id), connect_body(base_url="nope"), format="json")

    assert response.status_code == 400
    assert ENCRYPTION_TOKEN.encode() not in response.content
    assert SIGNATURE_KEY.encode() not in response.content
