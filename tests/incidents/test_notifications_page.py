"""The `/notifications` page: a vendor adds, tests and removes channels and sees incidents."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from accounts.services import VendorUser
from incidents import detection, kinds
from incidents.repository import ChannelRepository
from locations.repository import Location
from tests.incidents.support import MailBox, Receiver


def page_for(user: VendorUser) -> Client:
    client = Client()
    client.force_login(user.user)
    return client


def test_a_vendor_manages_channels_on_the_page(
    vendor_user: VendorUser,
    other_user: VendorUser,
    location: Location,
    mailbox: MailBox,
    receiver: Receiver,
) -> None:
    page = page_for(vendor_user)
    assert "No channel yet" in page.get("/notifications").content.decode()

    added = page.post(
        "/notifications", {"action": "add", "kind": "email", "target": "ops@gent.example"}
    )
    assert "Added ops@gent.example." in added.content.decode()
    bad = page.post("/notifications", {"action": "add", "kind": "email", "target": "nope"})
    assert "address: Enter a valid email address." in bad.content.decode()

    hook = page.post(
        "/notifications",
        {"action": "add", "kind": "webhook", "target": receiver.url, "events": ["order.failed"]},
    ).content.decode()
    match = re.search(r'<code class="secret">(whsec_[^<]+)</code>', hook)
    assert match is not None
    secret = match.group(1)
    assert secret not in page.get("/notifications").content.decode()  # shown once only

    vendor_id = str(vendor_user.vendor.pk)
    email, webhook = ChannelRepository().list_for_vendor(vendor_id)
    assert (email.target, webhook.events) == ("ops@gent.example", ["order.failed"])
    tested = page.post(
        "/notifications", {"action": "test", "channel_id": email.id}, follow=True
    ).content.decode()
    assert "Test message delivered to ops@gent.example." in tested
    assert mailbox.subjects() == ["[Upvendo] Test notification"]

    # Another vendor cannot touch them.
    intruder = page_for(other_user).post(
        "/notifications", {"action": "delete", "channel_id": email.id}, follow=True
    )
    assert "That channel no longer exists." in intruder.content.decode()
    assert len(ChannelRepository().list_for_vendor(vendor_id)) == 2

    removed = page.post(
        "/notifications", {"action": "delete", "channel_id": email.id}, follow=True
    ).content.decode()
    assert "Removed ops@gent.example." in removed
    assert [c.id for c in ChannelRepository().list_for_vendor(vendor_id)] == [webhook.id]


def test_the_page_lists_incidents_open_first(
    vendor_user: VendorUser, location: Location, settings: Any
) -> None:
    detection.open_incident(kinds.MENU_SYNC_FAILED, location.id, "Menu import failed.")
    detection.resolve_incident(kinds.MENU_SYNC_FAILED, location.id, "The next sync succeeded.")
    detection.open_incident(kinds.ORDER_FAILED, location.id, "An order failed.")
    html = page_for(vendor_user).get("/notifications").content.decode()
    assert html.index("Orders failed: An order failed.") < html.index("Menu sync failed: Menu")
    assert "The next sync succeeded." in html
    assert Client().get("/notifications").status_code == 302
