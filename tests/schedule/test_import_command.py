"""`manage.py import_kassanet`: a full import in the foreground, its report and exit codes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pymongo.database import Database

from integrations.repository import Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from tests.e2e_support import ROOT
from tests.menus.support import connect, dump_menu, fixture_catalog
from tests.schedule.conftest import Broker


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with start_simulator(products=1, tables=0) as handle:
        yield handle


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    sim.reset()
    sim.set_catalog(fixture_catalog())
    return connect(location, sim)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(location_id: str, *args: str, stdout: io.StringIO | None = None) -> str:
    out = stdout or io.StringIO()
    call_command("import_kassanet", location_id, *args, stdout=out)
    return out.getvalue()


def test_the_import_prints_one_line_per_stage_then_the_report(
    location: Location, integration: Integration
) -> None:
    output = run(location.id, "--provider=hendrickx")

    assert output.splitlines() == [
        f"Importing the Hendrickx menu of location {location.id} (4 stages).",
        "[1/4] read 7 products, 3 selections, 3 tables from the register",
        "[2/4] categories: 4 new, 0 updated, 0 removed",
        "[3/4] modifier groups: 2 new, 0 updated, 0 removed; items: 4 new, 0 updated, 0 removed",
        "[4/4] display groups: 3 new, 0 updated, 0 removed; menus: 1 new, 0 updated, 0 removed; "
        "inventory: 4 new, 0 updated, 0 removed",
        "Menu imported: 4 items created, 0 updated, 0 deleted, 3 skipped; 3 display groups.",
        "                   created   updated   deleted   skipped  warnings",
        "categories               4         0         0         0         0",
        "modifier groups          2         0         0         0         0",
        "items                    4         0         0         3         0",
        "display groups           3         0         0         0         1",
        "menus                    1         0         0         0         0",
        "inventory                4         0         0         0         0",
        "tables                   3         0         0         0         0",
        "warning: selection 'S1' lists 1 unknown product(s) ('P404'); they are left out",
    ]
    after = IntegrationRepository().get_by_id(integration.id)
    assert after is not None
    assert after.sync_status["status"] == "success"


def test_on_a_terminal_the_progress_is_a_bar_redrawn_in_place(
    location: Location, integration: Integration
) -> None:
    output = run(location.id, "--provider=hendrickx", stdout=Terminal())

    bar_updates = output.split("\r\033[K")[1:]
    assert [update.split(" ", 2)[:2] for update in bar_updates] == [
        ["[------------------------]", "0/4"],
        ["[######------------------]", "1/4"],
        ["[############------------]", "2/4"],
        ["[##################------]", "3/4"],
        ["[########################]", "4/4"],
    ]
    assert bar_updates[-1].split("\n", 1)[1].startswith("Menu imported: 4 items created")


def test_an_unknown_location_is_bad_input(location: Location) -> None:
    for location_id in ("6b0893158992d8bc607749a8", "not-an-id"):
        with pytest.raises(CommandError) as raised:
            run(location_id, "--provider=hendrickx")

        assert (raised.value.returncode, str(raised.value)) == (
            2,
            f"Unknown location {location_id!r}.",
        )


def test_a_location_without_that_providers_integration_is_bad_input(
    location: Location, integration: Integration
) -> None:
    with pytest.raises(CommandError) as raised:
        run(location.id, "--provider=vanhoutte")

    assert (raised.value.returncode, str(raised.value)) == (
        2,
        f"Location {location.id} has no Vanhoutte integration; connect it first "
        f"(POST /api/backoffice/kassanet/vanhoutte/{location.id}).",
    )


def test_an_unreachable_register_exits_3_and_keeps_the_menu(
    location: Location,
    integration: Integration,
    sim: SimulatorHandle,
    indexed_db: Database[dict[str, Any]],
) -> None:
    run(location.id, "--provider=hendrickx")
    before = dump_menu(indexed_db, location.id)
    sim.set_faults(offline=True)

    with pytest.raises(CommandError) as raised:
        run(location.id, "--provider=hendrickx")

    assert raised.value.returncode == 3
    message = str(raised.value)
    assert message.startswith(
        "The Hendrickx register is unreachable. Menu import failed at the menu stage: "
    )
    assert message.endswith("The previous menu is unchanged.")
    assert "\n" not in message
    assert dump_menu(indexed_db, location.id) == before


def test_an_import_already_running_exits_4_and_leaves_it_alone(
    location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    assert IntegrationRepository().claim_sync(integration.id, "running-run")

    with pytest.raises(CommandError) as raised:
        run(location.id, "--provider=hendrickx")

    assert (raised.value.returncode, str(raised.value)) == (
        4,
        "A Hendrickx menu import is already in progress for this location; wait for it to finish.",
    )
    after = IntegrationRepository().get_by_id(integration.id)
    assert after is not None
    assert (after.sync_status["status"], after.sync_status["run_id"]) == (
        "in_progress",
        "running-run",
    )
    assert sim.state()["counters"].get("GetAllProducts", 0) == 0


def test_a_register_that_rejects_the_import_exits_1_with_the_reason(
    location: Location, sim: SimulatorHandle
) -> None:
    sim.reset()
    sim.set_catalog(fixture_catalog())
    connect(location, sim, encryption_token="not-the-registers-token")

    with pytest.raises(CommandError) as raised:
        run(location.id, "--provider=hendrickx")

    assert raised.value.returncode == 1
    assert str(raised.value).startswith("Menu import failed at the menu stage: ")
    assert "\n" not in str(raised.value)


def test_async_enqueues_the_chain_and_says_how_to_follow_it(
    location: Location, integration: Integration, broker: Broker
) -> None:
    output = run(location.id, "--provider=hendrickx", "--async")

    after = IntegrationRepository().get_by_id(integration.id)
    assert after is not None
    run_id = after.sync_status["run_id"]
    assert output.splitlines() == [
        f"Menu import {run_id} enqueued on the menu-import queue (sync_status: in_progress).",
        "Follow its sync_status (in_progress, then success or error) with:",
        '  curl -H "Authorization: Token $API_TOKEN" '
        f'"$API_URL/api/backoffice/kassanet/hendrickx/{location.id}"',
    ]
    assert broker.queued() == [("ImportKassanetMenuJob", repr((integration.id, run_id)))]


def manage(*args: str, db_name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_ENV": "test", "SERVICES_ENV_FILE": "/dev/null"}
    env["MONGODB_DB"] = db_name
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_from_the_shell_a_failure_is_one_line_on_stderr_and_an_exit_code(
    settings: Any, location: Location
) -> None:
    unknown = manage(
        "import_kassanet",
        "6b0893158992d8bc607749a8",
        "--provider=hendrickx",
        db_name=settings.MONGODB_DB,
    )
    bad_provider = manage(
        "import_kassanet", location.id, "--provider=lightspeed", db_name=settings.MONGODB_DB
    )

    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (
        2,
        "",
        "CommandError: Unknown location '6b0893158992d8bc607749a8'.\n",
    )
    assert bad_provider.returncode == 2
    assert "argument --provider: invalid choice: 'lightspeed'" in bad_provider.stderr
