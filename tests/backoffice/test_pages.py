"""The backoffice pages with Django's test client: access, rendering, location choice and
that no secret ever reaches the page or the API answers the page's script reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import VendorUser
from backoffice.selection import SESSION_KEY
from integrations.credentials import Credentials
from integrations.repository import IntegrationRepository
from locations.repository import Location
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SIGNATURE_KEY = "page-test-signature-key-0123456789"
ENCRYPTION_TOKEN = "page-test-encryption-token-9876"


def location_options(html: str) -> list[tuple[str, str]]:
    select = html.split('id="location-select"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select)


def page_config(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script id="backoffice-config" type="application/json">(.*?)</script>', html
    )
    assert match, "the page has no config for its script"
    return dict(json.loads(match.group(1)))


@pytest.mark.parametrize("path", ["/hendrickx", "/vanhoutte"])
def test_pages_send_anonymous_visitors_to_the_login_page(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_the_root_redirects_to_the_hendrickx_page() -> None:
    response = Client().get("/")

    assert (response.status_code, response["Location"]) == (302, "/hendrickx")


def test_logging_in_lands_on_the_hendrickx_page(alice: VendorUser) -> None:
    client = Client()

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/hendrickx")
    assert client.get("/hendrickx").status_code == 200


def test_a_wrong_password_shows_the_login_form_again_with_an_error(alice: VendorUser) -> None:
    response = Client().post("/login/", {"username": "alice", "password": "wrong"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "Please enter a correct username and password." in html


def test_logging_out_ends_the_session(browser_client: Client) -> None:
    response = browser_client.post("/logout/")

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert browser_client.get("/hendrickx").status_code == 302


@pytest.mark.parametrize(
    ("provider", "display_name"), [("hendrickx", "Hendrickx"), ("vanhoutte", "Vanhoutte")]
)
def test_each_provider_page_renders_for_the_selected_location(
    browser_client: Client, gent: Location, provider: str, display_name: str
) -> None:
    response = browser_client.get(f"/{provider}")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"{display_name} POS" in html
    assert f'<a href="/{provider}" aria-current="page">{display_name}</a>' in html
    assert f"Connect your {display_name} register" in html
    assert f"the table section “{display_name} tables”" in html
    config = page_config(html)
    assert (config["provider"], config["location"]) == (
        provider,
        {"id": gent.id, "name": "Gent", "timezone": "Europe/Brussels"},
    )
    assert config["urls"]["integration"] == f"/api/backoffice/kassanet/{provider}/{gent.id}"
    assert config["urls"]["transactions"] == f"/api/backoffice/locations/{gent.id}/transactions"


def test_an_unknown_provider_path_is_not_found(browser_client: Client, gent: Location) -> None:
    assert browser_client.get("/lightspeed").status_code == 404


def test_the_location_selector_lists_only_the_users_vendors_locations(
    browser_client: Client, gent: Location, antwerpen: Location, bobs_place: Location
) -> None:
    response = browser_client.get("/hendrickx")

    html = response.content.decode()
    assert location_options(html) == [(antwerpen.id, "Antwerpen"), (gent.id, "Gent")]
    assert bobs_place.id not in html
    assert page_config(html)["location"]["id"] == antwerpen.id  # the first by name


def test_a_location_chosen_in_the_query_is_remembered_in_the_session(
    browser_client: Client, gent: Location, antwerpen: Location
) -> None:
    browser_client.get(f"/hendrickx?location={gent.id}")

    response = browser_client.get("/vanhoutte")

    assert page_config(response.content.decode())["location"]["id"] == gent.id
    assert browser_client.session[SESSION_KEY] == gent.id


def test_another_vendors_location_in_the_query_is_not_found_and_not_remembered(
    browser_client: Client, gent: Location, bobs_place: Location
) -> None:
    browser_client.get(f"/hendrickx?location={gent.id}")

    response = browser_client.get(f"/hendrickx?location={bobs_place.id}")

    assert response.status_code == 404
    assert browser_client.session[SESSION_KEY] == gent.id


def test_a_user_without_a_vendor_is_refused(db: Any) -> None:
    client = Client()
    client.force_login(get_user_model().objects.create_user("nobody", password=PASSWORD))

    assert client.get("/hendrickx").status_code == 403


def test_a_vendor_without_locations_is_told_how_to_create_one(
    browser_client: Client, indexed_db: Any
) -> None:
    response = browser_client.get("/hendrickx")

    html = response.content.decode()
    assert response.status_code == 200
    assert "No locations yet" in html
    assert "backoffice-config" not in html


def test_no_secret_reaches_the_page_or_the_api_answers_the_page_reads(
    browser_client: Client, gent: Location
) -> None:
    """Given a connected integration, the page and every API answer its script reads (and the
    answer to saving credentials) carry the masked values only."""
    IntegrationRepository().upsert(
        gent.id,
        "hendrickx",
        Credentials("http://127.0.0.1:9/kassanet/", SIGNATURE_KEY, ENCRYPTION_TOKEN, True),
        {},
    )
    config = page_config(browser_client.get("/hendrickx").content.decode())
    urls = config["urls"]

    answers = [
        browser_client.get("/hendrickx"),
        browser_client.get(urls["integration"]),
        browser_client.get(urls["transactions"] + "?page_size=20"),
        browser_client.get(urls["sections"]),
        browser_client.post(
            urls["integration"],
            {
                "base_url": "http://127.0.0.1:9/kassanet/",
                "signature_key": SIGNATURE_KEY,
                "encryption_token": ENCRYPTION_TOKEN,
                "enable_encryption": True,
                "sync_time": "06:00",
            },
            content_type="application/json",
        ),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 200]
    for answer in answers:
        for secret in (SIGNATURE_KEY, ENCRYPTION_TOKEN):
            assert secret.encode() not in answer.content
    credentials = answers[1].json()["credentials"]
    assert (credentials["signature_key"], credentials["encryption_token"]) == (
        "••••6789",
        "••••9876",
    )


def test_the_menu_items_page_needs_a_login_and_shows_the_users_location(
    browser_client: Client, gent: Location, bobs_place: Location
) -> None:
    anonymous = Client().get("/menus/items")
    response = browser_client.get("/menus/items")
    other = browser_client.get(f"/menus/items?location={bobs_place.id}")

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="/menus/items" aria-current="page">Menu items</a>' in html
    config = json.loads(
        html.split('id="menu-items-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["urls"]["item"] == f"/api/backoffice/locations/{gent.id}/items/__id__"
    assert config["urls"]["displayGroup"] == (
        f"/api/backoffice/locations/{gent.id}/display-groups/__id__"
    )
    assert other.status_code == 404
