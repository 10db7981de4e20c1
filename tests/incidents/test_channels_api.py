"""The notification channels API, webhook retries with backoff, and replay: real MongoDB, a
real SMTP server and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.services import VendorUser
from incidents import detection, kinds, notify
from incidents.repository import DeliveryRepository
from incidents.urlpolicy import validate_webhook_url
from locations.repository import Location
from tests.incidents.support import MailBox, Receiver

URL = "/api/backoffice/notification-channels"


def client_for(user: VendorUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.token}")
    return client


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"kind": "sms", "address": "a@b.example"}, {"kind": ['"sms" is not a valid choice.']}),
        ({"kind": "email"}, {"address": ["Give the e-mail address to notify."]}),
        (
            {"kind": "email", "address": "not-an-address"},
            {"address": ["Enter a valid email address."]},
        ),
        (
            {"kind": "email", "address": "a@b.example", "url": "https://x.example/"},
            {"url": ["An email channel has no url; remove it."]},
        ),
        ({"kind": "webhook"}, {"url": ["Give the URL to send webhooks to."]}),
        (
            {"kind": "webhook", "url": "ftp://hooks.example/"},
            {"url": ["Enter an absolute http(s) URL, e.g. https://pos.example.be/kassanet/."]},
        ),
        (
            {"kind": "webhook", "url": "https://169.254.169.254/latest"},
            {"url": ["169.254.169.254 is a cloud metadata address; it cannot receive webhooks."]},
        ),
        (
            {"kind": "email", "address": "a@b.example", "events": ["order.eaten"]},
            {"events": {"0": ['"order.eaten" is not a valid choice.']}},
        ),
        (
            {"kind": "email", "address": "a@b.example", "events": []},
            {"events": ["This list may not be empty."]},
        ),
        (
            {"kind": "email", "address": "a@b.example", "secret": "x"},
            {"secret": ["Unknown field; remove it."]},
        ),
    ],
)
def test_bad_channels_are_refused_saying_what_to_fix(
    api: APIClient, body: dict[str, Any], errors: dict[str, Any]
) -> None:
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert api.get(URL).json() == []


def test_channels_are_per_vendor_and_deletable(api: APIClient, other_user: VendorUser) -> None:
    created = api.post(URL, {"kind": "email", "address": "ops@gent.example"}, format="json").json()
    assert created["secret"] is None
    assert created["events"] == list(kinds.EVENT_TYPES)
    other = client_for(other_user)
    assert other.get(URL).json() == []
    assert other.get(f"{URL}/{created['id']}").status_code == 404
    assert other.delete(f"{URL}/{created['id']}").status_code == 404
    assert other.post(f"{URL}/{created['id']}/test").status_code == 404
    assert api.get(f"{URL}/{created['id']}").json()["address"] == "ops@gent.example"
    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    assert api.delete(f"{URL}/{created['id']}/").status_code == 404
    assert api.get(URL).json() == []


def test_the_test_message_reaches_the_mailbox(api: APIClient, mailbox: MailBox) -> None:
    created = api.post(URL, {"kind": "email", "address": "ops@gent.example"}, format="json").json()
    answer = api.post(f"{URL}/{created['id']}/test").json()
    assert (answer["status"], answer["attempts"], answer["event_type"]) == ("delivered", 1, "test")
    assert mailbox.subjects() == ["[Upvendo] Test notification"]
    assert mailbox.messages[0]["To"] == "ops@gent.example"
    deliveries = api.get(f"{URL}/{created['id']}/deliveries").json()
    assert [d["id"] for d in deliveries] == [answer["id"]]


def test_a_test_webhook_to_a_closed_port_is_recorded_as_failed(api: APIClient) -> None:
    from tests.e2e_support import services_script

    port = services_script().free_port()
    created = api.post(
        URL, {"kind": "webhook", "url": f"http://127.0.0.1:{port}/hook"}, format="json"
    ).json()
    answer = api.post(f"{URL}/{created['id']}/test").json()
    assert answer["status"] == "failed"
    assert answer["last_error"].startswith("ConnectError")
    assert created["secret"] not in answer["last_error"]


def test_a_webhook_is_retried_with_backoff_then_replayed(
    api: APIClient,
    location: Location,
    receiver: Receiver,
    settings: Any,
    inline_deliveries: list[tuple[str, float | None]],
) -> None:
    settings.NOTIFY_RETRY_BASE_SECONDS = 1.0
    settings.NOTIFY_MAX_ATTEMPTS = 4
    secret = api.post(URL, {"kind": "webhook", "url": receiver.url}, format="json").json()["secret"]
    receiver.statuses = [500, 503, 404]

    detection.open_incident(kinds.MENU_SYNC_FAILED, location.id, "Menu import failed.")
    ((delivery_id, first_delay),) = inline_deliveries
    assert first_delay == 1.0
    assert notify.deliver(delivery_id) == 2.0
    assert notify.deliver(delivery_id) == 4.0
    assert notify.deliver(delivery_id) is None  # the 4th attempt is answered 200
    delivery = DeliveryRepository().get(delivery_id)
    assert delivery is not None
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "delivered",
        4,
        "the receiver answered HTTP 404",
    )
    assert notify.deliver(delivery_id) is None  # delivered: not sent again
    bodies = receiver.bodies()
    assert len(bodies) == 4 and len({b["id"] for b in bodies}) == 1
    assert receiver.requests[0].headers["X-Upvendo-Delivery"] == delivery_id

    # Replay: same event, freshly signed.
    replayed = api.post(f"/api/backoffice/notification-deliveries/{delivery_id}/replay")
    assert replayed.status_code == 202
    assert (replayed.json()["status"], replayed.json()["replays"]) == ("pending", 1)
    assert inline_deliveries[-1] == (delivery_id, None)
    last = receiver.requests[-1]
    assert last.json()["id"] == bodies[0]["id"]
    parts = dict(item.split("=", 1) for item in last.headers["X-Upvendo-Signature"].split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + last.body, hashlib.sha256)
    assert parts["v1"] == mac.hexdigest()
    assert notify.verify_signature(secret, last.headers["X-Upvendo-Signature"], last.body)
    assert not notify.verify_signature(
        "whsec_other", last.headers["X-Upvendo-Signature"], last.body
    )


def test_a_delivery_fails_for_good_after_the_last_attempt(
    api: APIClient,
    location: Location,
    receiver: Receiver,
    settings: Any,
    other_user: VendorUser,
    inline_deliveries: list[tuple[str, float | None]],
) -> None:
    settings.NOTIFY_RETRY_BASE_SECONDS = 1.0
    settings.NOTIFY_MAX_ATTEMPTS = 2
    api.post(URL, {"kind": "webhook", "url": receiver.url}, format="json")
    receiver.statuses = [500, 500]
    detection.open_incident(kinds.MENU_SYNC_FAILED, location.id, "Menu import failed.")
    ((delivery_id, delay),) = inline_deliveries
    assert delay == 1.0
    assert notify.deliver(delivery_id) is None
    delivery = DeliveryRepository().get(delivery_id)
    assert delivery is not None and (delivery.status, delivery.attempts) == ("failed", 2)
    other = client_for(other_user)
    assert (
        other.post(f"/api/backoffice/notification-deliveries/{delivery_id}/replay").status_code
        == 404
    )
    assert (
        api.post(f"/api/backoffice/notification-deliveries/{delivery_id}/replay").status_code == 202
    )
    delivery = DeliveryRepository().get(delivery_id)
    assert delivery is not None and delivery.status == "delivered"
    assert len(receiver.requests) == 3


def test_incidents_are_listed_per_vendor_and_resolved_by_hand(
    api: APIClient,
    location: Location,
    other_user: VendorUser,
    mailbox: MailBox,
    inline_deliveries: list[Any],
) -> None:
    api.post(URL, {"kind": "email", "address": "ops@gent.example"}, format="json")
    opened = detection.open_incident(kinds.ORDER_FAILED, location.id, "An order failed.")
    assert opened is not None
    listed = api.get("/api/backoffice/incidents?status=open").json()
    assert [(i["id"], i["kind"], i["location_name"]) for i in listed] == [
        (opened.incident.id, "order_failed", "Gent")
    ]
    assert client_for(other_user).get("/api/backoffice/incidents").json() == []
    assert api.get("/api/backoffice/incidents?status=closed").status_code == 400
    path = f"/api/backoffice/incidents/{opened.incident.id}/resolve"
    assert client_for(other_user).post(path).status_code == 404
    answer = api.post(path)
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["resolution"]) == (
        "resolved",
        "Resolved by hand by alice.",
    )
    assert api.post(path).status_code == 409
    assert mailbox.subjects() == [
        "[Upvendo] Gent: Orders failed",
        "[Upvendo] Gent: Resolved: Orders failed",
    ]


def test_webhook_urls_allow_loopback_only_in_development(settings: Any) -> None:
    settings.DJANGO_ENV = "test"
    assert validate_webhook_url("http://127.0.0.1:9/hook") == "http://127.0.0.1:9/hook"
    settings.DJANGO_ENV = "production"
    settings.POS_INSECURE_HOSTS = []
    with pytest.raises(ValueError, match="Use https"):
        validate_webhook_url("http://127.0.0.1:9/hook")
    for url in (
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
    ):
        # The register address policy (integrations/network.py) or this module's own check.
        with pytest.raises(ValueError, match=r"loopback|private"):
            validate_webhook_url(url)
    assert validate_webhook_url("https://93.184.215.14/hook") == "https://93.184.215.14/hook"
