"""`manage.py kassanet_check <locationId> --provider=hendrickx|vanhoutte [--order ...] [--json]`.

`--order PRODUCT_ID[:MODIFIER_ID...]` needs `--yes`: it writes a real, paid test bill.

The conformance kit (`python -m kassanet.conformance`, docs/kassanet.md) run against a
location's register with the integration's stored credentials, which it never prints.

Exit codes:
    0  nothing failed (warnings allowed)
    1  a check failed
    2  bad input: unknown location, no integration for that provider, bad arguments
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from integrations.providers import PROVIDERS
from integrations.services import get_service
from kassanet.conformance import (
    EXIT_BAD_ARGUMENTS,
    EXIT_FAILED,
    Status,
    Target,
    TestOrder,
    exit_code,
    header,
    parse_order,
    real_bill_warning,
    render_json,
    render_text,
    run_checks,
    summary,
)


class Command(BaseCommand):
    help = (
        "Check a location's Hendrickx or Vanhoutte register with the conformance kit, using "
        "the stored credentials (never printed). Exit codes: 0 nothing failed, 1 a check "
        "failed, 2 bad input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("location_id", help="the location's id")
        parser.add_argument("--provider", required=True, choices=PROVIDERS)
        parser.add_argument(
            "--order",
            metavar="PRODUCT_ID[:MODIFIER_ID...]",
            help="also place a real test order: 2 x this product with these modifiers, on a "
            "free table, paid with Webshop (needs --yes)",
        )
        parser.add_argument(
            "--yes", action="store_true", help="confirm that --order writes a real bill"
        )
        parser.add_argument(
            "--json", action="store_true", help="one JSON object per check, one per line"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        order = self._order(options)
        service = get_service(options["provider"])
        location_id: str = options["location_id"]
        if service.locations.get(location_id) is None:
            raise CommandError(f"Unknown location {location_id!r}.", returncode=EXIT_BAD_ARGUMENTS)
        integration = service.integrations.get(location_id, service.provider)
        if integration is None:
            path = reverse(
                "kassanet-integration",
                kwargs={"provider": service.provider, "location_id": location_id},
            )
            raise CommandError(
                f"Location {location_id} has no {service.display_name} integration; connect "
                f"it first (POST {path}).",
                returncode=EXIT_BAD_ARGUMENTS,
            )
        credentials = integration.credentials
        try:
            # The same client settings as AbstractKassanetService.client().
            target = Target(
                credentials.base_url,
                credentials.signature_key,
                credentials.encryption_token,
                credentials.enable_encryption,
                timeout=float(settings.POS_TIMEOUT_SECONDS),
            )
        except ValueError as error:
            raise CommandError(
                f"The stored {service.display_name} credentials cannot be used: {error}; "
                "correct them in the connection settings.",
                returncode=EXIT_BAD_ARGUMENTS,
            ) from None
        if not options["json"]:
            self.stdout.write(f"{header(target, order)}, location {location_id}")
        if order is not None:  # said plainly, on stderr with --json (stdout stays JSON)
            out = self.stderr if options["json"] else self.stdout
            out.write(self.style.WARNING(real_bill_warning(order)))
        results = run_checks(target, order, confirmed=order is not None)
        if options["json"]:
            for line in render_json(results):
                self.stdout.write(line)
        else:
            styles = {
                Status.PASSED: self.style.SUCCESS,
                Status.WARNING: self.style.WARNING,
                Status.FAILED: self.style.ERROR,
            }
            for result in results:
                style = styles.get(result.status, str)
                for i, line in enumerate(render_text([result])):
                    self.stdout.write(style(line) if i == 0 else line)
            self.stdout.write(summary(results))
        if exit_code(results):
            failed = [r.title for r in results if r.status is Status.FAILED]
            raise CommandError(
                f"{len(failed)} check(s) failed: {', '.join(failed)}.", returncode=EXIT_FAILED
            )

    @staticmethod
    def _order(options: dict[str, Any]) -> TestOrder | None:
        if options.get("order") is None:
            return None
        try:
            order = parse_order(options["order"])
        except ValueError as error:
            raise CommandError(str(error), returncode=EXIT_BAD_ARGUMENTS) from None
        if not options["yes"]:
            raise CommandError(
                real_bill_warning(order) + " Nothing was sent. Add --yes to confirm, or leave "
                "--order out to run the other checks only.",
                returncode=EXIT_BAD_ARGUMENTS,
            )
        return order
