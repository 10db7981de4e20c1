"""The demo's operations seed: an e-mail channel, a support user, and how to stage an outage."""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command

from incidents.repository import ChannelRepository
from kassanet.testing import start_simulator


def test_seed_demo_adds_an_alert_channel_and_a_support_user_once(db: Any, indexed_db: Any) -> None:
    with start_simulator(
        signature_key="demo-sig-key", encryption_token="demo-token", products=3
    ) as sim:
        out = io.StringIO()
        for _ in range(2):  # idempotent
            call_command(
                "seed_demo",
                "--pos-url", sim.base_url,
                "--pos-signature-key", "demo-sig-key",
                "--pos-encryption-token", "demo-token",
                stdout=out,
            )  # fmt: skip
    channel = indexed_db["notification_channels"].find_one()
    assert channel is not None
    channels = ChannelRepository().list_for_vendor(channel["vendor_id"])
    assert [(c.kind, c.target) for c in channels] == [("email", "alerts@demo-restaurants.example")]
    support = get_user_model().objects.get(username="support")
    assert support.is_staff and support.check_password("support-password")
    text = out.getvalue()
    control = sim.base_url.split("/kassanet")[0] + "/_control/faults"
    assert f"Stage an outage: curl -X POST -d '{{\"offline\": true}}' {control}" in text
    assert "/readiness" in text and "/support  (support / support-password)" in text
