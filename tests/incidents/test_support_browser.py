"""The support pages in headless Chromium: a staff member logs in, finds the troubled location
first, filters, opens its diagnosis; the pages never hold a secret. Screenshots go to a
temporary directory, or to `$SUPPORT_SCREENSHOTS` when it is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import BrowserContext, expect, sync_playwright

import kassanet
from integrations.repository import DISCONNECTED, Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle
from locations.repository import Location, LocationRepository
from orders.push import OrderPusher
from orders.states import PushStatus
from tests.backoffice.test_browser import CHROMIUM, CHROMIUM_ARGS, LAPTOP, TIMEOUT_MS
from tests.orders.conftest import Menu, fast_config
from tests.orders.helpers import paid_order

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ALL = frozenset(PushStatus) - {PushStatus.PAID, PushStatus.FAILED, PushStatus.NEED_REQUEUE}
PASSWORD = "a-long-support-password"


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
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def troubled(
    location: Location,
    integration: Integration,
    menu: Menu,
    simulator: SimulatorHandle,
    settings: Any,
) -> Location:
    """Sam (staff); Gent with a failed order and its register disconnected (past the
    readiness grace period at once); Antwerpen."""
    settings.READINESS_DISCONNECTED_GRACE_MINUTES = 0
    get_user_model().objects.create_user("sam", password=PASSWORD, is_staff=True)
    LocationRepository().create(
        vendor_id=location.vendor_id, name="Antwerpen", timezone="Europe/Brussels", currency="EUR"
    )
    simulator.set_faults(
        endpoint_status={
            "endpoint": "SendOrder",
            "status": 422,
            "code": "AMOUNT_MISMATCH",
            "count": None,
        }
    )
    txn = paid_order(location, integration, menu, datetime.now(UTC), products=[("P1", 1, ())])
    pusher = OrderPusher(config=fast_config(), jitter=kassanet.no_jitter)
    assert pusher.advance(txn.id, ALL).status is PushStatus.FAILED
    IntegrationRepository().set_connection(integration.id, DISCONNECTED, "Disconnected: refused")
    return location


def test_support_finds_the_troubled_location_and_its_diagnosis(
    live_server: Any,
    troubled: Location,
    simulator: SimulatorHandle,
    tmp_path: Path,
    browser: BrowserContext,
) -> None:
    shots = Path(os.environ.get("SUPPORT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.goto(f"{live_server.url}/support")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/support")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/support")
    rows = page.locator("table.support-fleet tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Gent")
    expect(rows.nth(0)).to_contain_text("disconnected")
    expect(rows.nth(0)).to_contain_text("order_failed")
    page.screenshot(path=shots / "support-fleet.png", full_page=True)

    page.fill("input[name=q]", "antw")
    page.click("button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Antwerpen")
    page.fill("input[name=q]", "")
    page.check("input[name=trouble]")
    page.click("button[type=submit]")
    expect(rows).to_have_count(1)

    page.click("text=Gent")
    expect(page.locator("h1")).to_contain_text("Diagnosis: Gent")
    expect(page.locator("li[data-step=connection]")).to_contain_text("needs attention")
    expect(page.locator("table.failing-orders")).to_contain_text("AMOUNT_MISMATCH")
    expect(page.locator("p.readiness")).to_contain_text(
        "Taking orders: no — The register has been disconnected for 0 min"
    )
    page.screenshot(path=shots / "support-diagnosis.png", full_page=True)
    html = page.content()
    assert simulator.signature_key not in html and simulator.encryption_token not in html
