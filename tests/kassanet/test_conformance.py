"""The conformance kit against the simulator: each check passes against a conforming register
and fails, naming the right check, against each deviation (issue 12)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kassanet import OrderLine
from kassanet.conformance import (
    CheckResult,
    Status,
    Target,
    exit_code,
    parse_order,
    render_json,
    render_text,
    run_checks,
    summary,
)
from kassanet.simulator import SimulatorConfig, make_server
from kassanet.testing import SimulatorHandle, start_simulator
from tests.kassanet.conformance_support import ENCRYPTION_TOKEN, SECRETS, SIGNATURE_KEY, catalog

ROOT = Path(__file__).resolve().parents[2]
PASSED, WARNING, FAILED, SKIPPED = Status.PASSED, Status.WARNING, Status.FAILED, Status.SKIPPED
ALL_PASS_BUT_ORDER = [PASSED] * 7 + [SKIPPED]


@pytest.fixture(scope="module", params=[True, False], ids=["encrypted", "plain"])
def sim(request: pytest.FixtureRequest) -> Iterator[SimulatorHandle]:
    with start_simulator(
        products=1,
        encrypt=request.param,
        signature_key=SIGNATURE_KEY,
        encryption_token=ENCRYPTION_TOKEN,
    ) as handle:
        handle.set_catalog(catalog())
        yield handle


@pytest.fixture(autouse=True)
def clean(sim: SimulatorHandle) -> None:
    sim.reset()


def target(sim: SimulatorHandle, **overrides: Any) -> Target:
    values: dict[str, Any] = {
        "base_url": sim.base_url,
        "signature_key": sim.signature_key,
        "encryption_token": sim.encryption_token,
        "enable_encryption": sim.config.encrypt,
        "timeout": 5.0,
    }
    values.update(overrides)
    return Target(**values)


def check(sim: SimulatorHandle, order: str | None = None, **overrides: Any) -> list[CheckResult]:
    results = run_checks(
        target(sim, **overrides),
        None if order is None else parse_order(order),
        confirmed=order is not None,
    )
    assert [r.number for r in results] == list(range(1, 9))
    text = "\n".join([*render_text(results), summary(results), *render_json(results)])
    for secret in SECRETS:
        assert secret not in text
    return results


def statuses(results: list[CheckResult]) -> list[Status]:
    return [r.status for r in results]


def only_failure(results: list[CheckResult]) -> CheckResult:
    failed = [r for r in results if r.status is FAILED]
    assert len(failed) == 1, [(r.number, r.message) for r in failed]
    return failed[0]


# -- a conforming register ----------------------------------------------------------------------


def test_every_check_passes_and_one_test_order_is_paid(sim: SimulatorHandle) -> None:
    results = check(sim, "P2:M2-1")

    assert statuses(results) == [PASSED] * 8, [r.message for r in results]
    assert exit_code(results) == 0
    payments = sim.payments()
    assert len(payments) == 1
    payment = payments[0]
    # 2 x Cola + Groot, per unit: 2 x (2.87 + 1.50) = 8.74.
    assert payment["amount"] == "8.74" and payment["payment_type_id"] == "PT3"
    assert payment["reference"].startswith("TEST-")
    (bill,) = sim.bills()
    assert bill["status"] == "paid" and bill["paid_references"] == [payment["reference"]]
    (line,) = bill["lines"]
    assert (line["product_id"], line["quantity"], line["service_type"]) == ("P2", 2, "eat_in")
    assert line["modifiers"] == [{"modifier_id": "M2-1", "quantity": 1, "unit_price": "1.50"}]
    order = results[7]
    assert order.details["reference"] == payment["reference"]
    assert "2 x (2.87 + 1.50) = 8.74" in order.message
    assert "read back as paid" in order.message


def test_a_modifier_chosen_twice_counts_twice_per_unit(sim: SimulatorHandle) -> None:
    results = check(sim, "P1:M1-1:M1-1")

    assert statuses(results) == [PASSED] * 8, [r.message for r in results]
    # 2 x (4.60 + 2 x 0.90) = 12.80
    assert [p["amount"] for p in sim.payments()] == ["12.80"]
    assert sim.bills()[0]["lines"][0]["modifiers"][0]["quantity"] == 2


def test_without_an_order_nothing_is_written(sim: SimulatorHandle) -> None:
    results = check(sim)

    assert statuses(results) == ALL_PASS_BUT_ORDER
    assert exit_code(results) == 0
    assert "--order" in (results[7].action or "")
    assert sim.bills() == [] and sim.payments() == []
    assert sim.counters().get("SendOrder", 0) == 0
    # Date has whole seconds, and the answer takes a moment to arrive on a busy machine.
    assert results[1].details["skew_seconds"] in (0, 1)
    assert results[4].details["endpoints"] == {
        "test": "ok",
        "GetAllProducts": "ok",
        "GetProductSelection": "ok",
        "TableNumbers": "ok",
        "GetFreeTableNumber": "ok",
        "GetPaymentTypes": "ok",
        "GetBill": "ok (404 BILL_NOT_FOUND)",
    }
    assert "2 products, 1 selection, 2 tables, 4 payment types" in results[4].message
    assert results[5].details == {"payment_type_id": "PT3"}
    assert results[6].message == "2 tables (1 to 2); table 1 is free."


def test_an_order_needs_confirmation(sim: SimulatorHandle) -> None:
    with pytest.raises(ValueError, match="writes a real bill"):
        run_checks(target(sim), parse_order("P2:M2-1"))
    assert sim.counters() == {}


# -- each deviation fails the right check --------------------------------------------------------


def test_modifiers_priced_per_line_fail_the_test_order_with_total_amount_mismatch(
    sim: SimulatorHandle,
) -> None:
    sim.set_deviations(modifiers_per_line=True)

    results = check(sim, "P2:M2-1")

    failure = only_failure(results)
    assert failure.number == 8 and failure.name == "test_order"
    assert "Total amount mismatch: the register billed 7.24, priced per unit it is 8.74" in (
        failure.message
    )
    assert "once per line instead of once per unit" in failure.message
    assert "void it there" in (failure.action or "")
    assert exit_code(results) == 1
    # Not paid: the bill stays open with the test reference.
    assert sim.payments() == []
    (bill,) = sim.bills()
    assert bill["status"] == "open" and bill["references"][0].startswith("TEST-")


def test_no_webshop_payment_type_fails_check_6(sim: SimulatorHandle) -> None:
    sim.set_deviations(no_webshop=True)

    results = check(sim, "P2:M2-1")

    assert statuses(results) == [PASSED] * 5 + [FAILED, PASSED, SKIPPED]
    assert "no payment type named Webshop (it has: Card, Cash, Voucher)" in results[5].message
    assert "Webshop" in results[7].message and results[7].details["blocked_by"] == 6
    assert sim.counters().get("SendOrder", 0) == 0


def test_encryption_flag_mismatch_fails_check_4_and_says_which_side(
    sim: SimulatorHandle,
) -> None:
    sim.set_deviations(encryption=not sim.config.encrypt)

    results = check(sim)

    assert statuses(results) == [PASSED] * 3 + [FAILED] + [SKIPPED] * 4
    failure = results[3]
    if sim.config.encrypt:  # the client encrypts, the register does not
        assert failure.message.startswith("Invalid base64 input: the register answers in plain")
        assert "encryption is off on the register" in failure.message
        assert "--no-encrypt" in (failure.action or "")
        assert failure.details == {"register_encrypts": False}
    else:  # the register encrypts, the client does not
        assert "encryption is on at the register while it is off here" in failure.message
        assert "--encrypt" in (failure.action or "")
        assert failure.details == {"register_encrypts": True}
    assert all(r.details["blocked_by"] == 4 for r in results[4:])


def test_a_wrong_token_is_told_apart_from_the_flag(sim: SimulatorHandle) -> None:
    results = check(sim, encryption_token="not-the-registers-token", enable_encryption=True)

    if not sim.config.encrypt:  # flag on here, off on the register: the flag is the problem
        assert "encryption is off on the register" in only_failure(results).message
        return
    failure = only_failure(results)
    assert failure.number == 4
    assert failure.message.startswith("Blowfish decryption error:")
    assert "the flag matches; the token is wrong" in failure.message
    assert failure.action == "Copy the encryption token from the register again."


def test_a_register_that_encrypts_with_another_token_while_our_flag_is_off(
    sim: SimulatorHandle,
) -> None:
    sim.set_deviations(encryption=True)

    results = check(sim, enable_encryption=False, encryption_token="not-the-registers-token")

    failure = only_failure(results)
    assert failure.number == 4
    assert failure.message.startswith("Blowfish decryption error: the register encrypts")
    assert "Turn the encryption flag on here (--encrypt) and copy" in (failure.action or "")


def test_a_wrong_response_signature_fails_check_3(sim: SimulatorHandle) -> None:
    sim.set_deviations(wrong_signature=True)

    results = check(sim, "P2:M2-1")

    assert statuses(results) == [PASSED] * 2 + [FAILED, PASSED] + [SKIPPED] * 4
    assert "response signature does not verify" in results[2].message
    assert sim.counters().get("SendOrder", 0) == 0


def test_unsigned_answers_fail_check_3(sim: SimulatorHandle) -> None:
    sim.set_deviations(unsigned=True)

    results = check(sim)

    assert statuses(results) == [PASSED, SKIPPED, FAILED, PASSED] + [SKIPPED] * 4
    assert results[2].message.startswith("The register's answer is not signed")


def test_our_wrong_signature_key_fails_check_3(sim: SimulatorHandle) -> None:
    results = check(sim, signature_key="not-the-registers-key")

    failure = only_failure(results)
    assert failure.number == 3
    assert "the register refused our request (HTTP 401)" in failure.message
    assert "Copy the signature key" in (failure.action or "")


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("GetProductSelection", [PASSED] * 4 + [FAILED] + [PASSED] * 3),
        ("GetPaymentTypes", [PASSED] * 4 + [FAILED, SKIPPED, PASSED, SKIPPED]),
        ("GetFreeTableNumber", [PASSED] * 4 + [FAILED, PASSED, SKIPPED, SKIPPED]),
        ("GetBill", [PASSED] * 4 + [FAILED] + [PASSED] * 2 + [FAILED]),
        ("test", [PASSED] * 4 + [FAILED] + [PASSED] * 3),
    ],
)
def test_a_missing_endpoint_fails_check_5_naming_it(
    sim: SimulatorHandle, missing: str, expected: list[Status]
) -> None:
    sim.set_deviations(missing_endpoints=[missing])

    results = check(sim, "P2:M2-1")

    assert statuses(results) == expected, [r.message for r in results]
    read = results[4]
    assert f"{missing}: Kassanet {missing} failed with HTTP 404 (UNKNOWN_ENDPOINT" in read.message
    assert read.details["endpoints"][missing] == "failed"
    assert read.message.startswith("1 of 7 read endpoints did not answer correctly")


def test_clock_skew_above_300_s_fails_check_2_and_blocks_the_rest(sim: SimulatorHandle) -> None:
    sim.set_clock_skew(-400)

    results = check(sim, "P2:M2-1")

    assert statuses(results) == [PASSED, FAILED, PASSED, PASSED] + [SKIPPED] * 4
    skew = results[1].details["skew_seconds"]
    assert skew in (400, 401, 402)  # whole seconds, plus the time the answer takes
    assert f"{skew} s behind ours: more than 300 s" in results[1].message
    assert "NTP" in (results[1].action or "")
    assert all(r.details["blocked_by"] == 2 for r in results[4:])
    assert sim.counters().get("SendOrder", 0) == 0


def test_clock_skew_above_60_s_is_a_warning(sim: SimulatorHandle) -> None:
    sim.set_clock_skew(90)

    results = check(sim)

    assert statuses(results)[1] is WARNING
    assert results[1].details["skew_seconds"] in (-90, -89, -88)
    assert "s ahead of ours: more than 60 s; above 300 s the register" in results[1].message
    assert statuses(results)[2:] == ALL_PASS_BUT_ORDER[2:]
    assert exit_code(results) == 0


# -- reachability -------------------------------------------------------------------------------


def test_an_unreachable_register_fails_check_1_and_skips_the_rest(sim: SimulatorHandle) -> None:
    sim.set_faults(offline=True)

    results = check(sim)

    assert statuses(results) == [FAILED] + [SKIPPED] * 7
    assert results[0].message.startswith("Connection test failed: could not connect to ")
    assert all(r.details["blocked_by"] == 1 for r in results[1:])
    assert exit_code(results) == 1


def test_a_wrong_path_is_not_taken_for_a_register(sim: SimulatorHandle) -> None:
    results = check(sim, base_url=sim.base_url.replace("/kassanet/", "/elsewhere/"))

    assert statuses(results) == [FAILED] + [SKIPPED] * 7
    assert "answered HTTP 404, but not as a Kassanet register does" in results[0].message


def test_bad_targets_are_refused_before_any_request() -> None:
    for overrides, message in (
        ({"base_url": "ftp://pos.example.be/"}, "http:// or https://"),
        ({"base_url": "http://[::1"}, "not a valid URL"),
        ({"signature_key": ""}, "signature key is empty"),
        ({"encryption_token": ""}, "encryption token is empty"),
    ):
        values: dict[str, Any] = {
            "base_url": "https://pos.example.be/kassanet/",
            "signature_key": SIGNATURE_KEY,
            "encryption_token": ENCRYPTION_TOKEN,
            "enable_encryption": True,
        } | overrides
        with pytest.raises(ValueError, match=message):
            Target(**values)
    with pytest.raises(ValueError, match="PRODUCT_ID"):
        parse_order("P1::M1")


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_needs_a_certificate_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = _certificate(tmp_path)
    config = SimulatorConfig(
        products=1, signature_key=SIGNATURE_KEY, encryption_token=ENCRYPTION_TOKEN
    )
    server = make_server(config)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        server.register.set_catalog(catalog())
        url = f"https://127.0.0.1:{server.server_address[1]}/kassanet/"
        https = Target(url, SIGNATURE_KEY, ENCRYPTION_TOKEN, True, timeout=5.0)

        untrusted = run_checks(https)
        assert statuses(untrusted) == [FAILED] + [SKIPPED] * 7
        assert untrusted[0].message.startswith(
            f"Connection test failed: the TLS certificate of {url}test is not valid"
        )
        assert "certificate authority" in (untrusted[0].action or "")

        # The same certificate, trusted the way the production client trusts one.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
        trusted = run_checks(https)
        assert statuses(trusted) == ALL_PASS_BUT_ORDER, [r.message for r in trusted]
        assert trusted[0].message.endswith("; its TLS certificate is valid.")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- what the read endpoints say --------------------------------------------------------------


def test_unknown_fields_are_listed_as_information_and_bad_products_warn(
    sim: SimulatorHandle,
) -> None:
    menu = catalog()
    menu["products"][0]["allergens"] = ["gluten"]
    menu["products"][0]["modifier_groups"][0]["modifiers"][0]["colour"] = "red"
    menu["tables"][0]["seats"] = 4
    menu["products"].append({"id": "P3", "name": "Broken", "price": 3.5})  # a float price
    sim.set_catalog(menu)

    results = check(sim)

    read = results[4]
    assert read.status is WARNING
    assert "1 of 3 products do not parse" in read.message
    assert "products[2].price: expected a money string" in read.message
    assert (
        "GetAllProducts: unknown fields, ignored: products[].allergens, "
        "products[].modifier_groups[].modifiers[].colour"
    ) in read.info
    assert "TableNumbers: unknown fields, ignored: tables[].seats" in read.info
    assert exit_code(results) == 0


def test_no_free_table_is_a_warning_and_the_order_is_not_placed(sim: SimulatorHandle) -> None:
    with sim.client() as client:
        for table in (1, 2):
            client.send_order(f"TX-{table}", table, [OrderLine("P1", 1, Decimal("4.60"))])

    results = check(sim, "P2:M2-1")

    assert statuses(results)[6:] == [WARNING, SKIPPED]
    assert "no free table now (404 NO_FREE_TABLE)" in results[6].message
    assert results[7].details["blocked_by"] == 7
    assert len(sim.bills()) == 2 and sim.payments() == []


def test_a_register_without_tables_fails_check_7(sim: SimulatorHandle) -> None:
    menu = catalog()
    menu["tables"] = []
    sim.set_catalog(menu)
    try:
        results = check(sim)
    finally:
        sim.set_catalog(catalog())

    assert only_failure(results).number == 7
    assert results[6].message.startswith("The register has no table numbers")


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        ("P9", "product P9 is not on the register's menu (GetAllProducts)"),
        ("P2", "Choose at least 1 option(s) in 'Formaat'"),
        ("P2:M2-1:M2-2", "Choose at most 1 option(s) in 'Formaat'"),
        ("P1:M2-1", "modifier M2-1 is not in a modifier group of product P1"),
    ],
)
def test_a_bad_test_order_is_refused_before_anything_is_written(
    sim: SimulatorHandle, order: str, reason: str
) -> None:
    results = check(sim, order)

    failure = only_failure(results)
    assert failure.number == 8
    assert failure.message.startswith(f"Test order {order} not sent: {reason}")
    assert sim.counters().get("SendOrder", 0) == 0


def test_json_gives_one_object_per_check(sim: SimulatorHandle) -> None:
    sim.set_deviations(no_webshop=True)

    objects = [json.loads(line) for line in render_json(check(sim))]

    assert [o["check"] for o in objects] == list(range(1, 9))
    assert all(
        set(o) == {"check", "name", "title", "status", "message", "action", "info", "details"}
        for o in objects
    )
    assert [o["status"] for o in objects] == ["passed"] * 5 + ["failed", "passed", "skipped"]
    assert [o["name"] for o in objects] == [
        "reachable",
        "clock_skew",
        "signatures",
        "encryption",
        "read_endpoints",
        "webshop_payment_type",
        "tables",
        "test_order",
    ]
    assert objects[5]["action"].startswith("Add a payment type named Webshop")


def test_reset_turns_every_deviation_off(sim: SimulatorHandle) -> None:
    defaults = sim.deviations()
    sim.set_deviations(
        modifiers_per_line=True,
        no_webshop=True,
        encryption=not sim.config.encrypt,
        wrong_signature=True,
        unsigned=True,
        missing_endpoints=["GetBill"],
    )
    assert sim.deviations() == {
        "modifiers_per_line": True,
        "no_webshop": True,
        "encryption": not sim.config.encrypt,
        "wrong_signature": True,
        "unsigned": True,
        "missing_endpoints": ["GetBill"],
    }

    sim.reset()

    assert (
        sim.deviations()
        == defaults
        == {
            "modifiers_per_line": False,
            "no_webshop": False,
            "encryption": None,
            "wrong_signature": False,
            "unsigned": False,
            "missing_endpoints": [],
        }
    )
    assert statuses(check(sim)) == ALL_PASS_BUT_ORDER


def test_a_check_that_breaks_fails_alone_instead_of_the_run(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kassanet.conformance import _checks

    def broken(self: Any) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(_checks._Run, "check_tables", broken)

    results = check(sim, "P2:M2-1")

    assert statuses(results) == [PASSED] * 6 + [FAILED, SKIPPED]
    assert results[6].message == (
        "The kit could not complete this check (RuntimeError: unexpected)."
    )
    assert results[7].details["blocked_by"] == 7
    assert sim.counters().get("SendOrder", 0) == 0


def test_a_register_slower_than_the_timeout_fails_check_1(sim: SimulatorHandle) -> None:
    sim.set_faults(latency_ms=1500)

    results = check(sim, timeout=0.3)

    assert statuses(results) == [FAILED] + [SKIPPED] * 7
    assert results[0].message == (
        f"Connection test failed: {sim.base_url}test did not answer within 0.3 s."
    )


def test_a_redirect_fails_check_1_because_the_client_follows_none() -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(301)
            self.send_header("Location", "https://pos.example.be/kassanet/test")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/kassanet/"
        results = run_checks(Target(url, SIGNATURE_KEY, ENCRYPTION_TOKEN, True, timeout=5.0))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    assert statuses(results) == [FAILED] + [SKIPPED] * 7
    assert results[0].message == (
        f"Connection test failed: {url}test answers HTTP 301, a redirect to "
        "https://pos.example.be/kassanet/test; the client does not follow redirects."
    )
    assert results[0].action == "Put the register's own address in the base URL."
