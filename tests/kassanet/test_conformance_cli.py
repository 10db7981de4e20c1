"""``python -m kassanet.conformance`` as a real process against ``python -m kassanet.simulator
--encrypt`` in another: the checklist, the test order, exit codes, ``--json``, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kassanet.testing import SimulatorControl
from tests.kassanet.conformance_support import ENCRYPTION_TOKEN, SECRETS, SIGNATURE_KEY, catalog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim_process() -> Iterator[tuple[str, SimulatorControl]]:
    """``python -m kassanet.simulator --encrypt`` in its own process."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kassanet.simulator",
            "--port",
            "0",
            "--encrypt",
            "--products",
            "5",
            "--signature-key",
            SIGNATURE_KEY,
            "--encryption-token",
            ENCRYPTION_TOKEN,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        control_url = process.stdout.readline().split()[-1]
        control = SimulatorControl(control_url)
        control.set_catalog(catalog())
        yield base_url, control
    finally:
        process.terminate()
        process.wait(timeout=10)


def kit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "kassanet.conformance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr
    return result


def credentials(base_url: str) -> list[str]:
    return [
        "--base-url",
        base_url,
        "--signature-key",
        SIGNATURE_KEY,
        "--encryption-token",
        ENCRYPTION_TOKEN,
        "--encrypt",
    ]


def test_the_command_line_prints_the_checklist_and_exits_0(
    sim_process: tuple[str, SimulatorControl],
) -> None:
    base_url, control = sim_process
    control.reset()

    result = kit(*credentials(base_url))

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Kassanet conformance check of {base_url} (encryption on)"
    numbered = [line for line in lines if line[:2] in {f"{n}." for n in range(1, 9)}]
    assert [line.split()[:2] for line in numbered] == [
        ["1.", "passed"],
        ["2.", "passed"],
        ["3.", "passed"],
        ["4.", "passed"],
        ["5.", "passed"],
        ["6.", "passed"],
        ["7.", "passed"],
        ["8.", "skipped"],
    ]
    assert lines[-1] == "7 passed, 0 warning(s), 0 failed, 1 skipped: nothing failed."
    assert control.payments() == []


def test_the_command_line_pays_exactly_one_test_order(
    sim_process: tuple[str, SimulatorControl],
) -> None:
    base_url, control = sim_process
    control.reset()

    result = kit(*credentials(base_url), "--order", "P2:M2-1", "--yes")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "The test order writes a real bill on the register" in result.stdout
    assert "8. passed   Test order: Test order TEST-" in result.stdout
    payments = control.payments()
    assert len(payments) == 1
    assert payments[0]["reference"].startswith("TEST-")
    assert payments[0]["amount"] == "8.74"  # 2 x (2.87 + 1.50)
    assert control.counters()["SendOrder"] == 1 and control.counters()["PayBill"] == 1


def test_json_with_an_order_keeps_stdout_json_and_warns_on_stderr(
    sim_process: tuple[str, SimulatorControl],
) -> None:
    base_url, control = sim_process
    control.reset()

    result = kit(*credentials(base_url), "--order", "P1:M1-1:M1-1", "--yes", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.startswith("The test order writes a real bill on the register")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["status"] for o in objects] == ["passed"] * 8
    order = objects[7]["details"]
    assert order["expected_total"] == order["billed_total"] == "12.80"  # 2 x (4.60 + 2 x 0.90)
    assert [(p["reference"], p["amount"]) for p in control.payments()] == [
        (order["reference"], "12.80")
    ]


def test_the_command_line_exits_1_when_a_check_fails(
    sim_process: tuple[str, SimulatorControl],
) -> None:
    base_url, control = sim_process
    control.reset()
    control.set_deviations(no_webshop=True)

    result = kit(*credentials(base_url), "--json")

    assert result.returncode == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
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


def test_the_command_line_reads_secrets_from_the_environment(
    sim_process: tuple[str, SimulatorControl],
) -> None:
    base_url, control = sim_process
    control.reset()

    result = kit(
        "--base-url",
        base_url,
        env={"KASSANET_SIGNATURE_KEY": SIGNATURE_KEY, "KASSANET_ENCRYPTION_TOKEN": "wrong-token"},
    )

    assert result.returncode == 1
    assert "4. failed   Encryption flag and token: Blowfish decryption error" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--order", "P2:M2-1"], "The test order writes a real bill on the register"),
        (["--order", "P2::M2-1"], "--order expects PRODUCT_ID[:MODIFIER_ID...]"),
        (["--timeout", "soon"], "argument --timeout: invalid float value"),
    ],
)
def test_bad_arguments_exit_2_and_send_nothing(
    sim_process: tuple[str, SimulatorControl], args: list[str], message: str
) -> None:
    base_url, control = sim_process
    control.reset()

    result = kit(*credentials(base_url), *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert control.counters() == {}


def test_missing_credentials_exit_2() -> None:
    result = kit(
        "--base-url",
        "http://127.0.0.1:9/kassanet/",
        "--no-encrypt",
        env={"KASSANET_SIGNATURE_KEY": ""},
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("error: the signature key is empty")


def test_a_simulator_started_with_a_deviation_flag_fails_that_check() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "kassanet.simulator", "--port", "0", "--no-encrypt",
         "--products", "5", "--signature-key", SIGNATURE_KEY, "--modifiers-per-line"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        SimulatorControl(process.stdout.readline().split()[-1]).set_catalog(catalog())

        result = kit(
            "--base-url", base_url, "--signature-key", SIGNATURE_KEY, "--no-encrypt",
            "--order", "P2:M2-1", "--yes",
        )  # fmt: skip

        assert result.returncode == 1
        assert "8. failed   Test order: Test order TEST-" in result.stdout
        assert "Total amount mismatch: the register billed 7.24" in result.stdout
    finally:
        process.terminate()
        process.wait(timeout=10)
