"""`manage.py import_kassanet <location_id> --provider=hendrickx|vanhoutte [--background]`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.providers import PROVIDERS
from integrations.services import get_service
from menus.importer import ImportInProgressError


class Command(BaseCommand):
    help = "Run a full menu import of a location's Kassanet integration (in this process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("location_id")
        parser.add_argument("--provider", required=True, choices=PROVIDERS)
        parser.add_argument(
            "--background",
            action="store_true",
            help="enqueue the Celery chain instead of running the stages here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        service = get_service(options["provider"])
        integration = service.integrations.get(options["location_id"], service.provider)
        if integration is None:
            raise CommandError(
                f"Location {options['location_id']} has no {service.display_name} integration."
            )
        try:
            if options["background"]:
                self.stdout.write(f"Enqueued menu import {service.import_menu(integration)}.")
                return
            status = service.import_menu_now(integration)
        except ImportInProgressError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(status.get("message", ""))
        self.stdout.write(json.dumps(status.get("details", {}).get("report", {}), indent=2))
        if status.get("status") != "success":
            raise CommandError("The import failed; the previous menu is unchanged.")
