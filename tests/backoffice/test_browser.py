"""The Hendrickx page in headless Chromium, end to end: the app in pytest-django's live server,
a real Celery worker (queues default, menu-import and payments-medium), MongoDB, Redis and the
Kassanet simulator over HTTP.

One journey, as a restaurant manager would take it: log in, connect (a field error first),
test the connection, sync the menu, watch a paid and a failed order (and retry it), lose the
register, disconnect. Along the way the page's HTML and every answer it receives are checked
for the simulator's secrets.

Screenshots go to a temporary directory, or to `$BACKOFFICE_SCREENSHOTS` when it is set
(`BACKOFFICE_SCREENSHOTS=docs/screenshots` refreshes the ones in the docs).
"""

from __future__ import annotations

import copy
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import (
    BrowserContext,
    Page,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)
from pymongo.database import Database

from accounts.roles import PAYMENTS
from accounts.services import VendorUser, create_service_token, ensure_vendor_user
from integrations.services import get_service
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from tests.backoffice.conftest import make_location
from tests.e2e_support import Worker, celery_worker
from tests.menus.support import connect

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = ViewportSize(width=1280, height=860)
TABLET = ViewportSize(width=820, height=1180)
TIMEOUT_MS = 30_000
PROVIDER = "hendrickx"
IMPORTED = ("categories", "items", "modifier_groups", "display_groups", "menus", "inventory")
WORKER_SETTINGS = {
    "POS_TIMEOUT_SECONDS": "3",
    "MENU_IMPORT_RETRY_DELAY": "1",
    "ORDER_PUSH_RETRY_BASE_SECONDS": "0.1",
    "ORDER_PUSH_RETRY_MAX_SECONDS": "0.5",
    "ORDER_PUSH_CLIENT_RETRY_DELAY": "0.02",
    "ORDER_PUSH_TABLE_RETRY_SECONDS": "0.1",
}


@pytest.fixture
def demo(transactional_db: Any) -> VendorUser:
    return ensure_vendor_user("demo", "Demo Restaurants", password="demo-password")


@pytest.fixture
def payments_token(transactional_db: Any) -> str:
    """The payments service's token (only it may confirm a payment); made before the browser
    starts, as the ORM refuses to run beside Playwright's event loop."""
    return create_service_token(PAYMENTS).token


@pytest.fixture
def brasserie(indexed_db: Database[dict[str, Any]], demo: VendorUser) -> Location:
    return make_location(demo, "Demo Brasserie")


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    with start_simulator(products=40, tables=8, encrypt=True) as sim:
        yield sim


@pytest.fixture
def worker(settings: Any, indexed_db: Database[dict[str, Any]]) -> Iterator[Worker]:
    settings.POS_TIMEOUT_SECONDS = 3.0  # the connection test runs in the live server
    with celery_worker(
        db_name=settings.MONGODB_DB,
        redis_prefix=settings.REDIS_KEY_PREFIX,
        queues=["default", "menu-import", "payments-medium"],
        concurrency=2,
        env=WORKER_SETTINGS,
    ) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=LAPTOP,
            locale="en-GB",
            timezone_id="Europe/Brussels",
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def api(live_server: Any, demo: VendorUser) -> Iterator[httpx.Client]:
    """The REST API with the demo user's token, as an ordering channel would call it."""
    headers = {"Authorization": f"Token {demo.token}"}
    # Closed before the live server stops: its request threads end with their connections.
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("BACKOFFICE_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Bodies:
    """Every answer the browser receives from the app (HTML, script, API JSON, downloads)."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.seen: list[tuple[str, bytes]] = []
        page.on("response", self._keep)

    def _keep(self, response: Response) -> None:
        if response.url.startswith(self.origin) and not 300 <= response.status < 400:
            self.seen.append((response.url, response.body()))

    def assert_absent(self, *secrets: str) -> None:
        for url, body in self.seen:
            for secret in secrets:
                assert secret.encode() not in body, f"a secret is in the answer to {url}"


def create_paid_order(
    api: httpx.Client, payments_token: str, location: Location, item: dict[str, Any]
) -> str:
    response = api.post(
        f"/api/backoffice/locations/{location.id}/transactions",
        json={
            "channel": "kiosk",
            "service_type": "eat_in",
            "lines": [{"item_id": item["id"], "quantity": 2}],
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()
    confirmed = api.post(
        f"/api/backoffice/transactions/{order['id']}/payment-confirmed",
        headers={"Authorization": f"Token {payments_token}"},
        json={
            "amount": order["total"],
            "currency": order["currency"],
            "payment_provider": "stripe",
            "payment_reference": f"pi_{order['id']}",
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    return str(order["id"])


def test_a_manager_connects_syncs_follows_orders_and_disconnects_in_the_browser(
    live_server: Any,
    demo: VendorUser,
    payments_token: str,
    brasserie: Location,
    simulator: SimulatorHandle,
    worker: Worker,
    browser: BrowserContext,
    shots: Path,
    api: httpx.Client,
    indexed_db: Database[dict[str, Any]],
) -> None:
    page = browser.new_page()
    bodies = Bodies(page, live_server.url)
    badge = page.locator('[data-bind="connection-badge"]')
    reason = page.locator('[data-bind="connection-message"]')

    # Logging in: the page sends an anonymous visitor to the login form and back.
    page.goto(f"{live_server.url}/hendrickx")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/hendrickx")
    page.screenshot(path=shots / "01-login.png")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hendrickx POS")
    expect(page.get_by_label("Location")).to_have_value(brasserie.id)

    # Not connected: a URL the API refuses is explained next to its field.
    form = page.locator('form[data-form="connect"]')
    url_field = form.get_by_label("Connection URL")
    url_field.fill("https://169.254.169.254/kassanet/")
    form.get_by_label("Signature Key").fill(simulator.signature_key)
    form.get_by_label("Encryption Token").fill(simulator.encryption_token)
    form.get_by_label("Encrypt traffic").check()
    form.get_by_label("Daily sync time (Europe/Brussels)").fill("06:00")
    form.get_by_role("button", name="Connect").click()
    expect(page.locator("#connect-base_url-error")).to_have_text(
        re.compile(r"^169\.254\.169\.254 is a cloud metadata .*; it cannot be a POS\.$")
    )
    expect(url_field).to_have_attribute("aria-invalid", "true")
    expect(url_field).to_be_focused()
    page.screenshot(path=shots / "02-not-connected-field-error.png", full_page=True)

    # Connecting, then testing the connection from the keyboard.
    url_field.fill(simulator.base_url)
    url_field.press("Enter")
    expect(badge).to_have_text("Disconnected")
    expect(reason).to_have_text("Not tested yet.")
    expect(page.locator('[data-bind="signature_key"]')).to_have_text(
        "••••" + simulator.signature_key[-4:]
    )
    expect(page.locator('[data-bind="next-sync"]')).to_contain_text("06:00 (Europe/Brussels)")
    test_button = page.get_by_role("button", name="Test connection")
    test_button.focus()
    assert test_button.evaluate("b => getComputedStyle(b).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(badge).to_have_text("Connected")
    expect(reason).to_contain_text("Connected to")

    # Update settings: a new daily sync time, without re-entering the keys.
    page.get_by_text("Update settings").focus()
    page.keyboard.press("Enter")
    settings_form = page.locator('form[data-form="settings"]')
    expect(settings_form.get_by_label("Daily sync time (Europe/Brussels)")).to_have_value("06:00")
    settings_form.get_by_label("Daily sync time (Europe/Brussels)").fill("07:30")
    expect(settings_form.get_by_label("Signature Key")).to_have_count(0)
    settings_form.get_by_role("button", name="Save settings").click()
    expect(page.locator('[data-bind="next-sync"]')).to_contain_text("07:30 (Europe/Brussels)")
    expect(settings_form).to_be_hidden()

    # Sync now: live progress per stage (a slow register makes it watchable), then the report.
    simulator.set_faults(latency_ms=400)
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator('[data-stage][data-state="current"] .stage-state')).to_have_text(
        "In progress…"
    )
    report = page.locator('[data-bind="report"]')
    expect(report).to_be_visible(timeout=60_000)
    simulator.set_faults(latency_ms=0)
    expect(page.locator('[data-stage][data-state="done"]')).to_have_count(4)
    for entity in IMPORTED:
        stored = indexed_db[entity].count_documents(
            {"location_id": brasserie.id, "imported_by": PROVIDER}
        )
        assert stored > 0, entity
        expect(report.locator(f'[data-entity="{entity}"] [data-count="created"]')).to_have_text(
            str(stored)
        )
    expect(page.locator('[data-bind="tables-summary"]')).to_have_text(
        "Hendrickx tables: 8 tables, managed by the Hendrickx integration."
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Download QR codes (ZIP of SVG)").click()
    assert download.value.suggested_filename.endswith(".zip")
    pdf_link = page.get_by_role("link", name="Download QR codes (printable PDF)")
    pdf = page.request.get(live_server.url + (pdf_link.get_attribute("href") or ""))
    assert (pdf.status, pdf.body()[:5]) == (200, b"%PDF-")
    page.screenshot(path=shots / "03-connected-sync-report.png", full_page=True)

    # Orders: one paid; one the register refuses, then retried.
    items = api.get(f"/api/backoffice/locations/{brasserie.id}/items?limit=500").json()["results"]
    plain = [item for item in items if all(g["min"] == 0 for g in item["modifier_groups"])]
    paid_id = create_paid_order(api, payments_token, brasserie, plain[0])
    page.get_by_role("button", name="Refresh orders").click()
    paid_row = page.locator(f'[data-order="{paid_id}"]')
    expect(paid_row.locator('[data-col="pos"]')).to_contain_text("Paid")
    expect(paid_row.locator('[data-col="payment"]')).to_have_text("Paid")
    expect(paid_row.locator('[data-col="channel"]')).to_contain_text("Eat in")
    simulator.set_faults(
        endpoint_status={"endpoint": "GetFreeTableNumber", "status": 409, "count": 1}
    )
    failed_id = create_paid_order(api, payments_token, brasserie, plain[1])
    page.get_by_role("button", name="Refresh orders").click()
    failed_row = page.locator(f'[data-order="{failed_id}"]')
    expect(failed_row.locator('[data-col="pos"]')).to_contain_text("Failed")
    expect(failed_row.locator('[data-col="message"]')).to_contain_text(
        "GetFreeTableNumber failed with HTTP 409"
    )
    page.mouse.move(0, 0)
    page.locator('section[aria-labelledby="orders-title"]').screenshot(
        path=shots / "04-orders-paid-and-failed.png"
    )
    failed_row.get_by_role("button", name=re.compile("^Retry order")).click()
    expect(failed_row.locator('[data-col="pos"]')).to_contain_text("Paid")
    expect(failed_row.get_by_role("button")).to_have_count(0)
    assert sorted(p["reference"] for p in simulator.payments()) == sorted([paid_id, failed_id])

    # The register goes away: the test says so, and the log can be filtered to the errors.
    simulator.set_faults(offline=True)
    page.get_by_role("button", name="Test connection").click()
    expect(badge).to_have_text("Disconnected")
    expect(reason).to_contain_text("Connection test failed")
    page.get_by_label("Level").select_option("error")
    entries = page.locator('[data-bind="log"] li')
    expect(entries.first).to_contain_text("Connection test failed")
    assert set(entries.evaluate_all("items => items.map(li => li.dataset.level)")) == {"error"}
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=shots / "05-disconnected.png")

    # The same page on a tablet.
    page.set_viewport_size(TABLET)
    page.get_by_label("Level").select_option("")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=shots / "07-tablet.png")
    page.set_viewport_size(LAPTOP)

    # No secret in the page's HTML or in any answer the page received.
    html = page.request.get(f"{live_server.url}/hendrickx").text()
    assert simulator.signature_key not in html and simulator.encryption_token not in html
    bodies.assert_absent(simulator.signature_key, simulator.encryption_token)
    masked = ("••••" + simulator.signature_key[-4:]).encode()
    assert any(masked in body for url, body in bodies.seen if "/api/backoffice/kassanet/" in url)

    # Disconnecting, with the keyboard, after a confirmation that says what goes.
    page.get_by_role("button", name="Disconnect…").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    for removed in ("categories", "items", "modifiers", "display groups", "menu", "inventory"):
        expect(dialog).to_contain_text(removed)
    expect(dialog).to_contain_text("the table section “Hendrickx tables”")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.screenshot(path=shots / "06-disconnect-confirmation.png")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Disconnect and remove")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Connect your Hendrickx register")).to_be_visible()
    expect(page.get_by_role("heading", name="Connect your Hendrickx register")).to_be_focused()
    expect(page.locator('[data-bind="state-badge"]')).to_have_text("Not connected")
    for entity in (*IMPORTED, "table_sections"):
        assert indexed_db[entity].count_documents({"location_id": brasserie.id}) == 0, entity


def test_a_manager_reviews_a_held_import_and_a_preview_in_the_browser(
    live_server: Any,
    demo: VendorUser,
    brasserie: Location,
    simulator: SimulatorHandle,
    worker: Worker,
    browser: BrowserContext,
    shots: Path,
    indexed_db: Database[dict[str, Any]],
) -> None:
    integration = connect(brasserie, simulator)
    assert get_service(PROVIDER).import_menu_now(integration)["status"] == "success"
    location_items = {"location_id": brasserie.id}
    imported = {doc["external_ids"][PROVIDER] for doc in indexed_db["items"].find(location_items)}
    catalog = copy.deepcopy(simulator.catalog())
    kept = catalog["products"][: len(catalog["products"]) // 2]
    gone = [p["id"] for p in catalog["products"][len(kept) :] if p["id"] in imported]
    simulator.set_catalog({**catalog, "products": kept})

    page = browser.new_page()
    page.goto(f"{live_server.url}/hendrickx")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_label("Password").press("Enter")
    history = page.locator('[data-bind="imports"]')
    expect(history.locator("tr")).to_have_count(1)  # the first import, made by the command

    # Sync now: half the items would go, so the import is held and shows what it would do.
    page.get_by_role("button", name="Sync now").click()
    detail = page.locator('[data-bind="run-detail"]')
    expect(detail).to_have_attribute("data-status", "needs_review", timeout=60_000)
    expect(page.locator('[data-bind="guard"]')).to_contain_text(
        f"it would delete {len(gone)} of {len(imported)} items"
    )
    deleted = detail.locator('[data-diff="items.deleted"] li')
    expect(deleted).to_have_count(len(gone))
    expect(detail.locator('[data-diff="items.deleted"]')).to_contain_text(f"(POS {gone[0]})")
    expect(page.locator('[data-bind="sync-message"]')).to_contain_text("held for review")
    assert indexed_db["items"].count_documents(location_items) == len(imported)
    page.screenshot(path=shots / "08-import-held-for-review.png", full_page=True)

    # Discard: nothing changes.
    detail.get_by_role("button", name="Discard").click()
    expect(history.locator('tr[data-status="discarded"]')).to_have_count(1)
    expect(detail.get_by_role("button", name="Apply")).to_have_count(0)

    # A preview, then the register changes before Apply: refused, preview again.
    page.get_by_role("button", name="Preview sync").click()
    expect(detail).to_have_attribute("data-status", "preview", timeout=60_000)
    simulator.set_catalog({**catalog, "products": kept[1:]})
    detail.get_by_role("button", name="Apply").click()
    expect(page.locator("#notice")).to_have_text(
        "The register's menu changed since this preview; preview again"
    )
    assert indexed_db["items"].count_documents(location_items) == len(imported)

    # Preview again and apply it: the menu now matches the register.
    stale_run = detail.get_attribute("data-run") or ""
    page.get_by_role("button", name="Preview sync").click()
    expect(history.locator('tr[data-status="preview"]')).to_have_count(2, timeout=60_000)
    # The panel shows the new preview, not the refused one, before Apply is clicked.
    expect(detail).not_to_have_attribute("data-run", stale_run, timeout=60_000)
    expect(detail).to_have_attribute("data-status", "preview", timeout=60_000)
    expect(detail.get_by_role("button", name="Apply")).to_be_visible()
    detail.get_by_role("button", name="Apply").click()
    expect(detail).to_have_attribute("data-status", "success", timeout=60_000)
    left = {doc["external_ids"][PROVIDER] for doc in indexed_db["items"].find(location_items)}
    assert left == imported & {p["id"] for p in kept[1:]}

    # Restore the menu the apply replaced: every item is back, the lost ones flagged.
    versions = page.locator('[data-bind="versions"] li')
    expect(versions).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    versions.first.get_by_role("button", name=re.compile("^Restore")).click()
    expect(page.locator("#notice")).to_contain_text("Menu version restored")
    expect(detail).to_have_attribute("data-status", "success")
    expect(versions).to_have_count(2)  # the restore kept the menu it replaced
    restored = {
        doc["external_ids"][PROVIDER]: doc for doc in indexed_db["items"].find(location_items)
    }
    assert set(restored) == imported
    assert {key for key, doc in restored.items() if doc.get("register_missing")} == imported - left
    page.screenshot(path=shots / "09-menu-restored.png", full_page=True)


def test_a_manager_edits_uploads_and_reorders_on_the_menu_items_page(
    live_server: Any,
    settings: Any,
    tmp_path: Path,
    demo: VendorUser,
    brasserie: Location,
    simulator: SimulatorHandle,
    browser: BrowserContext,
    shots: Path,
    indexed_db: Database[dict[str, Any]],
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    integration = connect(brasserie, simulator)
    assert get_service(PROVIDER).import_menu_now(integration)["status"] == "success"
    group = indexed_db["display_groups"].find_one({"location_id": brasserie.id})
    assert group is not None and len(group["item_ids"]) >= 2
    first_id, second_id = group["item_ids"][:2]
    items = {
        str(doc["_id"]): doc for doc in indexed_db["items"].find({"location_id": brasserie.id})
    }
    first = items[first_id]

    page = browser.new_page()
    page.goto(f"{live_server.url}/menus/items")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Menu items")
    cards = page.locator("[data-item]")
    expect(cards).to_have_count(len(items))

    # Search narrows the list; edit the description of the first match.
    page.get_by_label("Search").fill(first["external_ids"][PROVIDER])
    card = page.locator(f'[data-item="{first_id}"]')
    expect(card).to_be_visible()
    expect(card.locator('[data-field="availability"]')).to_have_text("Available")
    card.get_by_label(f"Description of {first['name']}").fill("House favourite")
    card.get_by_role("button", name="Save description").click()
    expect(page.locator("#notice")).to_have_text(f"Description of {first['name']} saved.")

    # Upload an image: a preview first, then the stored image with its thumbnail.
    png = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(png, format="PNG")
    card.get_by_label(f"Image of {first['name']}").set_input_files(
        {"name": "dish.png", "mimeType": "image/png", "buffer": png.getvalue()}
    )
    expect(card.locator('[data-field="thumbnail"]')).to_have_attribute("src", re.compile("^blob:"))
    card.get_by_role("button", name="Upload image").click()
    expect(page.locator("#notice")).to_have_text(f"Image of {first['name']} uploaded.")
    stored = indexed_db["items"].find_one({"_id": first["_id"]})
    assert stored is not None and stored["description"] == "House favourite"
    assert stored["image"].endswith(".png") and stored["image_thumbnail"].endswith("-thumb.png")

    # Reorder within a display group with the buttons.
    page.get_by_label("Search").fill("")
    page.get_by_label("Display group").select_option(str(group["_id"]))
    expect(page.locator('[data-bind="reorder-hint"]')).to_be_visible()
    expect(cards.first).to_have_attribute("data-item", first_id)
    page.get_by_role("button", name=f"Move {first['name']} down").click()
    expect(cards.first).to_have_attribute("data-item", second_id)
    page.screenshot(path=shots / "10-menu-items.png", full_page=True)
    saved = indexed_db["display_groups"].find_one({"_id": group["_id"]})
    assert saved is not None and saved["item_order"][:2] == [second_id, first_id]

    # A menu sync keeps every local edit.
    assert get_service(PROVIDER).import_menu_now(integration)["status"] == "success"
    page.reload()
    page.get_by_label("Display group").select_option(str(group["_id"]))
    expect(cards.first).to_have_attribute("data-item", second_id)
    expect(
        page.locator(f'[data-item="{first_id}"]').get_by_label(f"Description of {first['name']}")
    ).to_have_value("House favourite")
