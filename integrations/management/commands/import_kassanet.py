"""`manage.py import_kassanet <locationId> --provider=hendrickx|vanhoutte [--async] [--preview]
[--confirm-deletions]`.

Runs a full menu import in this process, stage by stage, through the same service code as
the Celery chain (no worker needed), and prints the report. `--async` enqueues the chain on
the workers instead and says how to follow it. `--preview` reads and plans only (nothing is
written; apply or discard the run through the API); `--confirm-deletions` lets the import pass
the mass-change guard (docs/menu-import.md).

Exit codes (docs/schedule.md):
    0  imported (or, with --async, enqueued)
    1  the import failed for another reason (the message says why; the previous menu is kept)
    2  bad input: unknown location, no integration for that provider, bad arguments
    3  the register is unreachable
    4  an import of this integration is already running
    5  the import was held for review by the mass-change guard (nothing was written)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.urls import reverse

from integrations.providers import PROVIDERS
from integrations.repository import SYNC_NEEDS_REVIEW, SYNC_PREVIEW, SYNC_SUCCESS
from integrations.services import AbstractKassanetService, get_service
from menus.importer import ENTITIES, STAGES, ImportInProgressError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_ALREADY_RUNNING = 4
EXIT_HELD = 5

# What each stage reports (menus/importer.py: the sync status details after the stage).
STAGE_ENTITIES = {
    "categories": ("categories",),
    "products": ("modifier_groups", "items"),
    "display_groups": ("display_groups", "menus", "inventory"),
}
BAR_WIDTH = 24


def _label(name: str) -> str:
    return name.replace("_", " ")


def stage_summary(stage: str, status: dict[str, Any]) -> str:
    """What a stage did: 'read 7 products, ... from the register', 'items: 4 new, ...'."""
    details = status.get("details") or {}
    if stage not in STAGE_ENTITIES:
        read = details.get("read", {})
        numbers = ", ".join(f"{read.get(k, 0)} {k}" for k in ("products", "selections", "tables"))
        return f"read {numbers} from the register"
    report = details.get("report") or details.get("progress") or {}
    return "; ".join(
        f"{_label(entity)}: {counts.get('created', 0)} new, {counts.get('updated', 0)} updated, "
        f"{counts.get('deleted', 0)} removed"
        for entity in STAGE_ENTITIES[stage]
        if (counts := report.get(entity)) is not None
    )


class StageProgress:
    """Per-stage progress: a bar redrawn in place on a terminal, one line per stage otherwise."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.tty = out.isatty()

    def start(self) -> None:
        self._show(0, "reading the register")

    def __call__(self, stage: str, status: dict[str, Any]) -> None:
        self._show(STAGES.index(stage) + 1, stage_summary(stage, status))

    def _show(self, done: int, text: str) -> None:
        total = len(STAGES)
        if not self.tty:
            if done:
                self.out.write(f"[{done}/{total}] {text}")
            return
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.out.write(
            f"\r\033[K[{bar}] {done}/{total} {text}", ending="\n" if done == total else ""
        )
        self.out.flush()

    def abort(self) -> None:
        if self.tty:
            self.out.write("")  # end the bar's line


class Command(BaseCommand):
    help = (
        "Import a location's menu from its Hendrickx or Vanhoutte register now, in this "
        "process (or on the workers with --async). Exit codes: 1 import failed, 2 bad input, "
        "3 register unreachable, 4 import already running, 5 held for review."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("location_id", help="the location's id")
        parser.add_argument("--provider", required=True, choices=PROVIDERS)
        parser.add_argument(
            "--async",
            "--background",
            dest="in_background",
            action="store_true",
            help="enqueue the import on the Celery workers instead, and print how to follow it",
        )
        parser.add_argument(
            "--preview",
            action="store_true",
            help="read and plan only: write nothing, leave a preview run to apply or discard",
        )
        parser.add_argument(
            "--confirm-deletions",
            action="store_true",
            help="apply even if the import deletes more items than MENU_IMPORT_MAX_DELETE_SHARE",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        service = get_service(options["provider"])
        location_id: str = options["location_id"]
        if service.locations.get(location_id) is None:
            raise CommandError(f"Unknown location {location_id!r}.", returncode=EXIT_BAD_INPUT)
        integration = service.integrations.get(location_id, service.provider)
        if integration is None:
            raise CommandError(
                f"Location {location_id} has no {service.display_name} integration; connect "
                f"it first (POST {self._integration_path(service, location_id)}).",
                returncode=EXIT_BAD_INPUT,
            )
        progress = StageProgress(self.stdout)
        try:
            if options["in_background"]:
                run_id = service.import_menu(
                    integration,
                    trigger="command",
                    preview=options["preview"],
                    confirm_deletions=options["confirm_deletions"],
                )
                self._enqueue(service, location_id, run_id)
                return
            self.stdout.write(
                f"Importing the {service.display_name} menu of location {location_id} "
                f"({len(STAGES)} stages)."
            )
            progress.start()
            status = service.import_menu_now(
                integration,
                progress,
                preview=options["preview"],
                confirm_deletions=options["confirm_deletions"],
            )
        except ImportInProgressError as error:
            raise CommandError(str(error), returncode=EXIT_ALREADY_RUNNING) from None
        if status.get("status") in (SYNC_PREVIEW, SYNC_NEEDS_REVIEW):
            progress.abort()
            self._report(status)
            held_run = (status.get("details") or {}).get("run_id")
            self.stdout.write(
                f"Run {held_run}: apply it with POST "
                f"{self._integration_path(service, location_id)}/imports/{held_run}/apply "
                "or discard it with .../discard."
            )
            if status["status"] == SYNC_NEEDS_REVIEW:
                raise CommandError(
                    "The import was held for review; nothing was written. Apply it, or run "
                    "again with --confirm-deletions.",
                    returncode=EXIT_HELD,
                )
            return
        if status.get("status") != SYNC_SUCCESS:
            progress.abort()
            self._fail(service, status)
        self._report(status)

    def _fail(self, service: AbstractKassanetService, status: dict[str, Any]) -> None:
        message = " ".join(str(status.get("message") or "The menu import failed.").split())
        if (status.get("details") or {}).get("unreachable"):
            raise CommandError(
                f"The {service.display_name} register is unreachable. {message}",
                returncode=EXIT_UNREACHABLE,
            )
        raise CommandError(message, returncode=EXIT_FAILED)

    def _report(self, status: dict[str, Any]) -> None:
        details = status.get("details") or {}
        report = details.get("report", {})
        style = self.style.SUCCESS if status.get("status") == SYNC_SUCCESS else self.style.WARNING
        self.stdout.write(style(status.get("message", "")))
        columns = ("created", "updated", "deleted", "skipped", "warnings")
        self.stdout.write(f"{'':<16}" + "".join(f"{c:>10}" for c in columns))
        rows = [(entity, report.get(entity, {})) for entity in ENTITIES]
        rows.append(("tables", details.get("tables") or {}))
        for name, counts in rows:
            self.stdout.write(
                f"{_label(name):<16}" + "".join(f"{counts.get(c, 0):>10}" for c in columns)
            )
        for warning in details.get("warnings", []):
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))

    def _enqueue(self, service: AbstractKassanetService, location_id: str, run_id: str) -> None:
        path = self._integration_path(service, location_id)
        integration = service.integrations.get(location_id, service.provider)
        status = integration.sync_status.get("status") if integration else None
        self.stdout.write(
            f"Menu import {run_id} enqueued on the menu-import queue (sync_status: {status})."
        )
        self.stdout.write("Follow its sync_status (in_progress, then success or error) with:")
        self.stdout.write(f'  curl -H "Authorization: Token $API_TOKEN" "$API_URL{path}"')

    @staticmethod
    def _integration_path(service: AbstractKassanetService, location_id: str) -> str:
        return reverse(
            "kassanet-integration",
            kwargs={"provider": service.provider, "location_id": location_id},
        )
