"""Seed the demo: a user with a password and an API token, its vendor and a location.

With `--pos-url` (and the register's keys) it also connects the location's Hendrickx
integration to that register, with encryption on, and runs the connection test. It also adds an
e-mail notification channel for the demo vendor (development prints mail to the `default`
worker's log) and a staff user for the support view, and says how to stage an outage.
Idempotent: running it again reuses what exists. Refused in production.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import ensure_vendor_user
from incidents.kinds import EVENT_TYPES
from incidents.repository import ChannelRepository
from integrations.credentials import Credentials
from integrations.services import HendrickxService
from locations.repository import Location, LocationRepository

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_VENDOR = "Demo Restaurants"
DEMO_LOCATION = "Demo Brasserie"
DEMO_ALERTS = "alerts@demo-restaurants.example"
SUPPORT_USERNAME = "support"
SUPPORT_PASSWORD = "support-password"


class Command(BaseCommand):
    help = "Create the demo user, vendor and location (development only, idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--pos-url", help="connect the demo location's Hendrickx POS here")
        parser.add_argument("--pos-signature-key", default="")
        parser.add_argument("--pos-encryption-token", default="")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates a user with a known password: not in production.")
        demo = ensure_vendor_user(DEMO_USERNAME, DEMO_VENDOR, password=DEMO_PASSWORD)
        locations = LocationRepository()
        vendor_id = str(demo.vendor.pk)
        location = locations.find_by_name(vendor_id, DEMO_LOCATION) or locations.create(
            vendor_id=vendor_id, name=DEMO_LOCATION, timezone="Europe/Brussels", currency="EUR"
        )
        base_url = str(options["base_url"]).rstrip("/")
        self.stdout.write(f"Demo login:     {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write(f"Demo API token: {demo.token}")
        self.stdout.write(f"Demo location:  {location.name} ({location.id})")
        self.seed_operations(vendor_id)
        self.stdout.write(
            f"Demo alerts:    e-mail to {DEMO_ALERTS} (printed in the worker-default log)"
        )
        self.stdout.write(
            f"Support view:   {base_url}/support  ({SUPPORT_USERNAME} / {SUPPORT_PASSWORD})"
        )
        self.stdout.write(
            f"Readiness:      curl -H 'Authorization: Token {demo.token}' "
            f"{base_url}/api/backoffice/locations/{location.id}/readiness"
        )
        if options["pos_url"]:
            control = str(options["pos_url"]).split("/kassanet")[0].rstrip("/") + "/_control/faults"
            self.stdout.write(
                f"Stage an outage: curl -X POST -d '{{\"offline\": true}}' {control}  "
                "(an incident after ALERT_DISCONNECTED_MINUTES; '{\"offline\": false}' ends it)"
            )
        path = f"locations/{location.id}"
        if options["pos_url"]:
            self.connect_pos(location, options)
            path = f"kassanet/hendrickx/{location.id}/"
        self.stdout.write(
            f"Try: curl -H 'Authorization: Token {demo.token}' {base_url}/api/backoffice/{path}"
        )

    def connect_pos(self, location: Location, options: dict[str, object]) -> None:
        if not (options["pos_signature_key"] and options["pos_encryption_token"]):
            raise CommandError("--pos-url needs --pos-signature-key and --pos-encryption-token.")
        service = HendrickxService()
        integration = service.connect(
            location,
            Credentials(
                base_url=str(options["pos_url"]),
                signature_key=str(options["pos_signature_key"]),
                encryption_token=str(options["pos_encryption_token"]),
                enable_encryption=True,
            ),
        )
        result = service.test_connection(integration)
        self.stdout.write(f"Demo POS:       Hendrickx at {options['pos_url']}: {result.message}")

    def seed_operations(self, vendor_id: str) -> None:
        channels = ChannelRepository()
        if not any(c.target == DEMO_ALERTS for c in channels.list_for_vendor(vendor_id)):
            channels.create(
                vendor_id=vendor_id,
                kind="email",
                target=DEMO_ALERTS,
                events=list(EVENT_TYPES),
                secret_token=None,
                now=datetime.now(UTC),
            )
        user_model = get_user_model()
        support, _ = user_model.objects.get_or_create(username=SUPPORT_USERNAME)
        support.is_staff = True
        support.set_password(SUPPORT_PASSWORD)
        support.save()
