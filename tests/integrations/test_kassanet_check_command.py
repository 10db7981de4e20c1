"""`manage.py kassanet_check`: the conformance kit on a location's stored credentials."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.credentials import Credentials
from integrations.repository import Integration, IntegrationRepository
from kassanet.testing import SimulatorHandle, start_simulator
from locations.repository import Location
from tests.e2e_support import ROOT
from tests.kassanet.conformance_support import ENCRYPTION_TOKEN, SECRETS, SIGNATURE_KEY, catalog


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with start_simulator(
        products=1, encrypt=True, signature_key=SIGNATURE_KEY, encryption_token=ENCRYPTION_TOKEN
    ) as handle:
        handle.set_catalog(catalog())
        yield handle


@pytest.fixture
def integration(location: Location, sim: SimulatorHandle) -> Integration:
    sim.reset()
    return IntegrationRepository().upsert(
        location.id,
        "hendrickx",
        Credentials(sim.base_url, SIGNATURE_KEY, ENCRYPTION_TOKEN, True),
        {},
    )


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for secret in SECRETS:
        assert secret not in caplog.text


def run(location_id: str, *args: str) -> tuple[str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("kassanet_check", location_id, *args, stdout=out, stderr=err)
    except CommandError as raised:
        error = raised
    output = out.getvalue() + err.getvalue() + str(error or "")
    for secret in SECRETS:
        assert secret not in output
    return out.getvalue(), error


def test_a_conforming_register_passes_and_nothing_is_written(
    location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    output, error = run(location.id, "--provider=hendrickx")

    assert error is None
    lines = output.splitlines()
    assert lines[0] == (
        f"Kassanet conformance check of {sim.base_url} (encryption on), location {location.id}"
    )
    assert [line.split()[1] for line in lines if line[:2] in {f"{n}." for n in range(1, 9)}] == [
        "passed"
    ] * 7 + ["skipped"]
    assert lines[-1] == "7 passed, 0 warning(s), 0 failed, 1 skipped: nothing failed."
    assert sim.payments() == []


def test_with_order_and_yes_it_pays_one_test_order(
    location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    output, error = run(location.id, "--provider=hendrickx", "--order", "P2:M2-1", "--yes")

    assert error is None, output
    assert "The test order writes a real bill on the register" in output
    assert "8. passed   Test order: Test order TEST-" in output
    (payment,) = sim.payments()
    assert payment["reference"].startswith("TEST-")
    assert payment["amount"] == "8.74"  # 2 x (2.87 + 1.50)


def test_a_failed_check_exits_1_and_json_gives_one_object_per_check(
    location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    sim.set_deviations(no_webshop=True)

    output, error = run(location.id, "--provider=hendrickx", "--json")

    assert error is not None and error.returncode == 1
    assert str(error) == "1 check(s) failed: Webshop payment type."
    objects = [json.loads(line) for line in output.splitlines()]
    assert [(o["check"], o["status"]) for o in objects] == [
        (1, "passed"),
        (2, "passed"),
        (3, "passed"),
        (4, "passed"),
        (5, "passed"),
        (6, "failed"),
        (7, "passed"),
        (8, "skipped"),
    ]


def test_wrong_stored_credentials_fail_the_right_check(
    location: Location, sim: SimulatorHandle
) -> None:
    sim.reset()
    IntegrationRepository().upsert(
        location.id,
        "vanhoutte",
        Credentials(sim.base_url, SIGNATURE_KEY, "not-the-registers-token", True),
        {},
    )

    output, error = run(location.id, "--provider=vanhoutte")

    assert error is not None and error.returncode == 1
    assert "4. failed   Encryption flag and token: Blowfish decryption error" in output


def test_unknown_location_and_missing_integration_exit_2(
    location: Location, integration: Integration
) -> None:
    _, error = run("6b0893158992d8bc607749a8", "--provider=hendrickx")
    assert error is not None
    assert (error.returncode, str(error)) == (2, "Unknown location '6b0893158992d8bc607749a8'.")

    _, error = run(location.id, "--provider=vanhoutte")
    assert error is not None
    assert (error.returncode, str(error)) == (
        2,
        f"Location {location.id} has no Vanhoutte integration; connect it first "
        f"(POST /api/backoffice/kassanet/vanhoutte/{location.id}).",
    )


def test_an_order_without_yes_exits_2_and_sends_nothing(
    location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    output, error = run(location.id, "--provider=hendrickx", "--order", "P2:M2-1")

    assert error is not None and error.returncode == 2
    assert str(error).startswith("The test order writes a real bill on the register")
    assert str(error).endswith(
        "Add --yes to confirm, or leave --order out to run the other checks only."
    )
    assert output == ""
    assert sim.counters() == {}


def manage(*args: str, db_name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_ENV": "test", "SERVICES_ENV_FILE": "/dev/null"}
    env["MONGODB_DB"] = db_name
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_from_the_shell_the_exit_codes_are_0_1_and_2(
    settings: Any, location: Location, integration: Integration, sim: SimulatorHandle
) -> None:
    ok = manage("kassanet_check", location.id, "--provider=hendrickx", db_name=settings.MONGODB_DB)
    sim.set_deviations(wrong_signature=True)
    failed = manage(
        "kassanet_check", location.id, "--provider=hendrickx", "--json", db_name=settings.MONGODB_DB
    )
    unknown = manage(
        "kassanet_check", "6b0893158992d8bc607749a8", "--provider=hendrickx",
        db_name=settings.MONGODB_DB,
    )  # fmt: skip
    bad_provider = manage(
        "kassanet_check", location.id, "--provider=lightspeed", db_name=settings.MONGODB_DB
    )

    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1].endswith("1 skipped: nothing failed.")
    assert failed.returncode == 1
    assert failed.stderr == "CommandError: 1 check(s) failed: Response signatures.\n"
    assert [json.loads(line)["status"] for line in failed.stdout.splitlines()][2] == "failed"
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (
        2,
        "",
        "CommandError: Unknown location '6b0893158992d8bc607749a8'.\n",
    )
    assert bad_provider.returncode == 2
    assert "argument --provider: invalid choice: 'lightspeed'" in bad_provider.stderr
    for result in (ok, failed, unknown, bad_provider):
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr
