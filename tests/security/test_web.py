"""Web hardening: paging bounds, login lockout, API throttles, password validators and the
connection test's CSRF (docs/security.md, "Web and deployment")."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.services import VendorUser, ensure_vendor_user
from integrations.credentials import Credentials
from integrations.repository import IntegrationRepository
from locations.repository import Location
from tests.security.conftest import PASSWORD, throttle_rates
from upvendo.security import client_ip

pytestmark = pytest.mark.django_db

# -- paging bounds ------------------------------------------------------------------------------

HUGE = 10**30  # (HUGE - 1) * page_size overflowed MongoDB's 64-bit skip: a 500 before


@pytest.mark.parametrize(
    ("path", "params", "errors"),
    [
        ("items", {"offset": HUGE}, {"offset": ["Must be between 0 and 100000."]}),
        ("items", {"offset": 100_001}, {"offset": ["Must be between 0 and 100000."]}),
        ("items", {"offset": -1}, {"offset": ["Must be between 0 and 100000."]}),
        ("categories", {"limit": 501}, {"limit": ["Must be between 1 and 500."]}),
        ("inventory", {"limit": 0}, {"limit": ["Must be between 1 and 500."]}),
        ("transactions", {"page": HUGE}, {"page": ["Must be between 1 and 10000."]}),
        ("transactions", {"page": 10_001}, {"page": ["Must be between 1 and 10000."]}),
        ("transactions", {"page": 0}, {"page": ["Must be between 1 and 10000."]}),
        ("transactions", {"page_size": HUGE}, {"page_size": ["Must be between 1 and 100."]}),
        ("transactions", {"page_size": 101}, {"page_size": ["Must be between 1 and 100."]}),
    ],
)
def test_paging_numbers_out_of_range_are_a_400_naming_the_range(
    session: APIClient, location: Location, path: str, params: dict[str, int], errors: Any
) -> None:
    response = session.get(f"/api/backoffice/locations/{location.id}/{path}", params)

    assert response.status_code == 400, response.content
    assert response.json() == errors


def test_a_page_number_with_thousands_of_digits_is_a_400(
    session: APIClient, location: Location
) -> None:
    response = session.get(
        f"/api/backoffice/locations/{location.id}/transactions", {"page": "9" * 5000}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["page"]


def test_the_largest_allowed_page_and_offset_answer_an_empty_page(
    session: APIClient, location: Location
) -> None:
    base = f"/api/backoffice/locations/{location.id}"
    items = session.get(f"{base}/items", {"offset": 100_000, "limit": 500})
    orders = session.get(f"{base}/transactions", {"page": 10_000, "page_size": 100})

    assert (items.status_code, items.json()["results"], items.json()["offset"]) == (
        200,
        [],
        100_000,
    )
    assert (orders.status_code, orders.json()["results"], orders.json()["page"]) == (
        200,
        [],
        10_000,
    )


# -- login lockout (django-axes on the real login page) ----------------------------------------


def login(client: Client, password: str, username: str = "alice") -> Any:
    return client.post("/login/", {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_user_out_from_that_address(alice: VendorUser) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    for attempt in range(1, 5):
        response = login(client, f"wrong-{attempt}")
        assert response.status_code == 200, attempt  # the form again, with its error
        assert b"Please enter a correct username and password" in response.content
    assert login(client, "wrong-5").status_code == 429  # the fifth failure locks

    # then even the right password is refused and logs nobody in
    response = login(client, PASSWORD)

    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert b"After 5 wrong passwords" in response.content
    assert b"0:15:00" in response.content  # AXES_COOLOFF_MINUTES = 15
    assert "_auth_user_id" not in client.session
    assert client.get("/hendrickx").status_code == 302  # still sent to the login page


def test_the_lockout_is_per_user_and_address(alice: VendorUser) -> None:
    ensure_vendor_user("bob", "Bob Bistros", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for attempt in range(5):
        login(attacker, f"wrong-{attempt}")
    assert login(attacker, PASSWORD).status_code == 429

    # alice from her own address, and bob from the attacker's, still log in
    assert login(Client(REMOTE_ADDR="198.51.100.20"), PASSWORD).status_code == 302
    assert login(Client(REMOTE_ADDR="203.0.113.7"), PASSWORD, "bob").status_code == 302


def test_a_successful_login_resets_the_failure_count(alice: VendorUser) -> None:
    client = Client(REMOTE_ADDR="203.0.113.8")
    for attempt in range(4):
        login(client, f"wrong-{attempt}")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    for attempt in range(4):
        assert login(client, f"wrong-again-{attempt}").status_code == 200

    assert login(client, PASSWORD).status_code == 302


def test_a_forged_x_forwarded_for_does_not_escape_the_lockout(alice: VendorUser) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    for attempt in range(5):
        client.post(
            "/login/",
            {"username": "alice", "password": f"wrong-{attempt}"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )

    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )

    assert response.status_code == 429


def test_the_client_address_comes_from_x_forwarded_for_only_behind_configured_proxies(
    settings: Any,
) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.50"
    )
    assert client_ip(request) == "127.0.0.1"  # DJANGO_NUM_PROXIES=0: the header is ignored

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_ip(request) == "203.0.113.50"  # what the one proxy saw; 6.6.6.6 is forged

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    assert client_ip(request) == "6.6.6.6"


# -- API throttles -------------------------------------------------------------------------------


def test_a_user_over_the_rate_gets_429_with_retry_after(
    settings: Any, session: APIClient, location: Location
) -> None:
    throttle_rates(settings, anon="100/minute", user="3/minute")
    path = f"/api/backoffice/locations/{location.id}"

    statuses = [session.get(path).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = session.get(path)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled. Expected available in")
    assert 0 < int(response["Retry-After"]) <= 60


def test_anonymous_requests_are_throttled_per_address(settings: Any) -> None:
    throttle_rates(settings, anon="2/minute", user="100/minute")
    first, second = APIClient(REMOTE_ADDR="203.0.113.1"), APIClient(REMOTE_ADDR="203.0.113.2")

    # the OpenAPI schema is the API's one anonymous endpoint outside production
    assert [first.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/schema/").status_code == 200


def test_the_connection_test_has_its_own_tighter_rate(
    settings: Any, session: APIClient, location: Location, integration_id: str
) -> None:
    throttle_rates(settings, anon="100/minute", user="100/minute", connection_test="2/minute")
    url = f"/api/backoffice/kassanet/hendrickx/{location.id}/test"
    csrf = csrf_headers(session)

    statuses = [session.post(url, **csrf).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert session.get(f"/api/backoffice/locations/{location.id}").status_code == 200


def test_an_off_rate_turns_its_throttle_off(
    settings: Any, session: APIClient, location: Location
) -> None:
    throttle_rates(settings, anon="1/minute", user="off")
    path = f"/api/backoffice/locations/{location.id}"

    assert {session.get(path).status_code for _ in range(5)} == {200}


def test_with_the_cache_down_the_api_answers_unthrottled(
    settings: Any, session: APIClient, location: Location
) -> None:
    throttle_rates(settings, anon="1/minute", user="1/minute")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens: connection refused
        }
    }
    path = f"/api/backoffice/locations/{location.id}"

    assert [session.get(path).status_code for _ in range(3)] == [200, 200, 200]


# -- password validators -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt-pass!", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("824609713562", "This password is entirely numeric."),
        ("alice-1", "The password is too similar to the username."),
    ],
)
def test_django_s_full_password_validators_apply(
    alice: VendorUser, password: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_password(password, alice.user)

    assert message in raised.value.messages


def test_a_long_uncommon_password_is_accepted(alice: VendorUser) -> None:
    validate_password("correct horse battery staple 7", alice.user)


# -- the connection test: POST with CSRF for sessions, GET for API tokens ---------------------


@pytest.fixture
def integration_id(location: Location) -> str:
    """An integration whose register does not answer (port 9): the test's outcome is a
    failure, which is still a 200 and still changes the integration's state."""
    credentials = Credentials(
        "http://127.0.0.1:9/kassanet/", "sig-key-for-csrf-tests", "token-for-csrf-tests", False
    )
    return IntegrationRepository().upsert(location.id, "hendrickx", credentials, {}).id


def csrf_headers(client: APIClient) -> dict[str, str]:
    """A CSRF cookie and the matching header, as the page sends them."""
    token = "a" * 32
    client.cookies["csrftoken"] = token
    return {"HTTP_X_CSRFTOKEN": token}


def test_a_session_tests_the_connection_with_post_and_its_csrf_token(
    session: APIClient, location: Location, integration_id: str
) -> None:
    url = f"/api/backoffice/kassanet/hendrickx/{location.id}/test"

    response = session.post(url, **csrf_headers(session))

    assert response.status_code == 200
    assert response.json()["connected"] is False
    assert [entry.event for entry in IntegrationRepository().logs(integration_id)] == [
        "connection_test"
    ]


def test_a_session_post_without_csrf_token_is_refused_and_changes_nothing(
    session: APIClient, location: Location, integration_id: str
) -> None:
    before = IntegrationRepository().get_by_id(integration_id)

    response = session.post(f"/api/backoffice/kassanet/hendrickx/{location.id}/test")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    after = IntegrationRepository().get_by_id(integration_id)
    assert after is not None and before is not None
    assert after.connection == before.connection
    assert IntegrationRepository().logs(integration_id) == []


def test_a_session_get_is_refused_and_changes_nothing(
    session: APIClient, location: Location, integration_id: str
) -> None:
    # what a cross-site <img src=".../test"> in a logged-in browser would send
    response = session.get(f"/api/backoffice/kassanet/hendrickx/{location.id}/test")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "A logged-in session must test the connection with POST and its CSRF token; "
        "GET is for API tokens."
    }
    assert IntegrationRepository().logs(integration_id) == []


def test_an_api_token_may_still_test_the_connection_with_get(
    alice: VendorUser, location: Location, integration_id: str
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")

    response = client.get(f"/api/backoffice/kassanet/hendrickx/{location.id}/test")

    assert response.status_code == 200
    assert response.json()["connected"] is False
    assert len(IntegrationRepository().logs(integration_id)) == 1
