"""Seed the demo: a user with a password and an API token, its vendor and a location.

With `--pos-url` (and the register's keys) it also connects the location's Hendrickx
integration to that register, with encryption on, and runs the connection test.
Idempotent: running it again reuses what exists. Refused in production.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import ensure_vendor_user
from integrations.credentials import Credentials
from integrations.services import HendrickxService
from locations.repository import Location, LocationRepository

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_VENDOR = "Demo Restaurants"
DEMO_LOCATION = "Demo Brasserie"


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
