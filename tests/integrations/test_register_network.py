"""SSRF closed where the connection is made: the address rules, checked and pinned at connect
time (DNS rebinding), allowed networks, IPv6 forms, and what the user is told.

Real servers on loopback; where a test needs "a public address" and "a private one" without
leaving the machine, it allows 127.0.0.2 only and treats 127.0.0.1 as the forbidden one.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import kassanet
from integrations import validation
from integrations.network import AddressPolicy, guarded_transport, policy_from_settings
from integrations.repository import IntegrationRepository
from integrations.services import TEST_FAILED
from locations.repository import Location
from tests.integrations.conftest import ENCRYPTION_TOKEN, SIGNATURE_KEY, RecordingClient
from tests.kassanet.raw_server import answer, raw_server, signed_head, trickle

PUBLIC_STAND_IN = "127.0.0.2"
STAND_IN_POLICY = AddressPolicy.from_cidrs([f"{PUBLIC_STAND_IN}/32"])
PRODUCTION_POLICY = AddressPolicy()  # POS_ALLOWED_NETWORKS empty, as in production
SYSTEM = json.dumps({"status": "ok", "system": {"name": "Kassa", "version": "1", "register": "1"}})


class ScriptedResolver:
    """An injectable DNS: each lookup gets the next answer (the last one repeats)."""

    def __init__(self, *answers: Sequence[str] | Exception) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int, timeout: float | None) -> Sequence[str]:
        self.lookups.append(host)
        result = self.answers[min(len(self.lookups), len(self.answers)) - 1]
        if isinstance(result, Exception):
            raise result
        return result


def client(
    url: str,
    policy: AddressPolicy,
    resolve: ScriptedResolver | None = None,
    verify: ssl.SSLContext | bool = True,
) -> kassanet.KassanetClient:
    return kassanet.KassanetClient(
        url,
        SIGNATURE_KEY,
        ENCRYPTION_TOKEN,
        False,
        retry=kassanet.RetryPolicy(max_attempts=1),
        transport=guarded_transport(policy, resolve, verify=verify),
    )


# -- the rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "is a loopback address"),
        ("10.1.2.3", "is a private address (RFC 1918)"),
        ("172.16.0.1", "is a private address (RFC 1918)"),
        ("172.31.255.254", "is a private address (RFC 1918)"),
        ("192.168.1.1", "is a private address (RFC 1918)"),
        ("100.64.0.1", "is a carrier-grade NAT address (RFC 6598)"),
        ("100.127.255.254", "is a carrier-grade NAT address (RFC 6598)"),
        ("169.254.1.1", "is a link-local address"),
        ("169.254.169.254", "is a cloud metadata address"),
        ("0.0.0.0", "is an unspecified address"),
        ("0.1.2.3", "is a 'this network' address"),
        ("224.0.0.1", "is a multicast address"),
        ("240.0.0.1", "is a reserved address"),
        ("255.255.255.255", "is a reserved address"),
        ("198.18.0.1", "is a benchmarking address"),
        ("::1", "is a loopback address"),
        ("::", "is the unspecified address"),
        ("fc00::1", "is a unique local address"),
        ("fd12:3456::1", "is a unique local address"),
        ("fe80::1", "is a link-local address"),
        ("ff02::1", "is a multicast address"),
        ("::ffff:127.0.0.1", "is an IPv4-mapped address"),
        ("::ffff:8.8.8.8", "is an IPv4-mapped address"),
        ("::ffff:169.254.169.254", "is a cloud metadata address"),
        ("::127.0.0.1", "is an IPv4-compatible address"),
        ("64:ff9b::a00:1", "is a NAT64 address"),  # 10.0.0.1 through NAT64
        ("64:ff9b::808:808", "is a NAT64 address"),  # even a public one: NAT64 is a relay
        ("2002:7f00:1::1", "is a 6to4 address"),  # 127.0.0.1 through 6to4
        ("2001:0:4136:e378::1", "is a Teredo address"),
        ("fd00:ec2::254", "is a cloud metadata address"),
    ],
)
def test_non_global_addresses_are_refused(address: str, reason: str) -> None:
    assert PRODUCTION_POLICY.refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_globally_routable_addresses_are_allowed(address: str) -> None:
    assert PRODUCTION_POLICY.refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_open_exactly_those_networks_but_never_metadata() -> None:
    policy = AddressPolicy.from_cidrs(["10.20.0.0/16", "fd00:abcd::/32", "169.254.0.0/16"])

    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1")) == "is a private address (RFC 1918)"
    assert policy.refusal(ipaddress.ip_address("fd00:abcd::7")) is None
    assert policy.refusal(ipaddress.ip_address("fd00:abce::7")) == "is a unique local address"
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == (
        "is a cloud metadata address"
    )
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not a network in CIDR form"):
        AddressPolicy.from_cidrs(["10.0.0.0/33"])


def test_development_and_test_allow_loopback_only(settings: Any) -> None:
    policy = policy_from_settings()
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert policy.refusal(ipaddress.ip_address("192.168.1.1")) is not None
    settings.POS_ALLOWED_NETWORKS = []
    assert policy_from_settings().refusal(ipaddress.ip_address("127.0.0.1")) is not None


def test_the_save_time_check_follows_the_same_rules(settings: Any) -> None:
    settings.POS_ALLOWED_NETWORKS = []
    with pytest.raises(ValueError, match=r"10\.1\.2\.3 is a private address"):
        validation.validate_pos_url("https://10.1.2.3/kassanet/")
    with pytest.raises(
        ValueError, match=r"resolves to 100\.64\.0\.9, which is a carrier-grade NAT"
    ):
        validation.validate_pos_url(
            "https://pos.example.be/kassanet/", resolve=lambda host: ["100.64.0.9"]
        )
    ok = "https://pos.example.be/kassanet/"
    assert validation.validate_pos_url(ok, resolve=lambda host: ["8.8.8.8"]) == ok


# -- at connect time ---------------------------------------------------------------------------


def test_a_loopback_address_is_refused_at_connect_time_without_connecting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    with (
        raw_server(answer(SIGNATURE_KEY, SYSTEM.encode())) as server,
        client(server.url(), PRODUCTION_POLICY) as c,
        pytest.raises(kassanet.ConnectError) as refused,
    ):
        c.test()
    assert server.connections == []
    assert refused.value.message.startswith(kassanet.UNREACHABLE)
    assert "loopback" not in refused.value.message
    assert "refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address" in caplog.text


def test_a_name_that_resolves_to_a_private_address_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    resolver = ScriptedResolver(["10.0.0.7"])
    with (
        client("https://pos.test/kassanet/", PRODUCTION_POLICY, resolver) as c,
        pytest.raises(kassanet.ConnectError) as refused,
    ):
        c.test()
    assert refused.value.message.startswith(kassanet.UNREACHABLE)
    assert "pos.test resolves to 10.0.0.7, which is a private address (RFC 1918)" in caplog.text


def test_a_name_with_any_forbidden_address_is_refused_whole() -> None:
    resolver = ScriptedResolver(["8.8.8.8", "127.0.0.1"])
    with (
        client("https://pos.test/kassanet/", PRODUCTION_POLICY, resolver) as c,
        pytest.raises(kassanet.ConnectError),
    ):
        c.test()


def test_a_name_that_does_not_resolve_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    resolver = ScriptedResolver(socket.gaierror(-2, "Name or service not known"))
    with (
        client("https://pos.test/kassanet/", PRODUCTION_POLICY, resolver) as c,
        pytest.raises(kassanet.ConnectError) as refused,
    ):
        c.test()
    assert refused.value.message.startswith(kassanet.UNREACHABLE)
    assert "refused to connect to pos.test: does not resolve" in caplog.text


def test_a_legacy_numeric_host_is_checked_as_the_address_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """2130706433 is 127.0.0.1 to the system resolver: refused by the rules, reached when
    loopback is allowed (the system resolver, not a scripted one)."""
    caplog.set_level(logging.WARNING)
    with raw_server(answer(SIGNATURE_KEY, SYSTEM.encode())) as server:
        url = f"http://2130706433:{server.port}/kassanet/"
        with client(url, PRODUCTION_POLICY) as c, pytest.raises(kassanet.ConnectError):
            c.test()
        assert server.connections == []
        assert "2130706433 resolves to 127.0.0.1, which is a loopback address" in caplog.text
        with client(url, AddressPolicy.from_cidrs(["127.0.0.0/8"])) as c:
            assert c.test().name == "Kassa"
    assert server.connections == ["127.0.0.1"]


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "[::127.0.0.1]", "[::1]"])
def test_ipv6_forms_of_loopback_are_refused_at_connect_time(host: str) -> None:
    # Loopback IPv4 is allowed here, so only the IPv6 rules can refuse these.
    policy = AddressPolicy.from_cidrs(["127.0.0.0/8"])
    with (
        client(f"http://{host}:8080/kassanet/", policy) as c,
        pytest.raises(kassanet.ConnectError),
    ):
        c.test()


def test_dns_rebinding_cannot_move_a_checked_connection_or_open_a_new_one() -> None:
    """The name answers a good address, then (rebound) 127.0.0.1: the request goes to the
    checked address, and the next connection, re-resolved, is refused."""
    body = SYSTEM.encode()
    with (
        raw_server(answer(SIGNATURE_KEY, body), host=PUBLIC_STAND_IN) as good,
        # The rebound address on the same port: whatever connects by name again lands here.
        raw_server(answer(SIGNATURE_KEY, body), host="127.0.0.1", port=good.port) as bad,
    ):
        resolver = ScriptedResolver([PUBLIC_STAND_IN], ["127.0.0.1"])
        url = f"http://pos.test:{good.port}/kassanet/"
        with client(url, STAND_IN_POLICY, resolver) as c:
            assert c.test().name == "Kassa"
            # The answer closed the connection: the next call connects (and resolves) again.
            with pytest.raises(kassanet.ConnectError) as refused:
                c.test()
    assert resolver.lookups == ["pos.test", "pos.test"]
    assert good.connections == [PUBLIC_STAND_IN]
    assert f"host: pos.test:{good.port}" in good.requests[0].decode().lower()
    assert bad.connections == []
    assert refused.value.message.startswith(kassanet.UNREACHABLE)


def _certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_for_pos_test() -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext]]:
    """(server context, client context trusting only it) for the name pos.test."""
    with tempfile.TemporaryDirectory() as directory:
        cert, key = _certificate_for("pos.test", Path(directory))
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(cert, key)
        trusting = ssl.create_default_context(cafile=str(cert))
        yield server, trusting


def test_a_pinned_tls_connection_still_verifies_the_certificate_for_the_name(
    tls_for_pos_test: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, trusting = tls_for_pos_test
    body = SYSTEM.encode()
    with raw_server(answer(SIGNATURE_KEY, body), host=PUBLIC_STAND_IN, tls=server_tls) as pos:
        url = f"https://pos.test:{pos.port}/kassanet/"
        resolver = ScriptedResolver([PUBLIC_STAND_IN])
        with client(url, STAND_IN_POLICY, resolver, trusting) as c:
            assert c.test().name == "Kassa"
        # The same server under another name: the certificate does not match, so no answer.
        other = f"https://other.test:{pos.port}/kassanet/"
        with (
            client(other, STAND_IN_POLICY, ScriptedResolver([PUBLIC_STAND_IN]), trusting) as c,
            pytest.raises(kassanet.ConnectError) as refused,
        ):
            c.test()
    assert refused.value.message.startswith(kassanet.UNREACHABLE)


# -- through the service and the API -------------------------------------------------------------


def connect(api: RecordingClient, location: Location, base_url: str) -> str:
    body = {
        "base_url": base_url,
        "signature_key": SIGNATURE_KEY,
        "encryption_token": ENCRYPTION_TOKEN,
        "enable_encryption": False,
    }
    response = api.post(f"/api/backoffice/kassanet/hendrickx/{location.id}", body, format="json")
    assert response.status_code == 200, response.content
    integration_id: str = response.json()["id"]
    return integration_id


def run_test(api: RecordingClient, location: Location) -> dict[str, Any]:
    response = api.get(f"/api/backoffice/kassanet/hendrickx/{location.id}/test")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_user_gets_the_generic_reason_and_the_log_keeps_the_detail(
    api: RecordingClient,
    location: Location,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with raw_server(answer(SIGNATURE_KEY, SYSTEM.encode())) as server:
        integration_id = connect(api, location, server.url())
        settings.POS_ALLOWED_NETWORKS = []  # production: loopback is not a register's address
        body = run_test(api, location)
    assert body["connected"] is False
    assert body["message"] == (
        f"{TEST_FAILED}: {kassanet.UNREACHABLE} (Kassanet test); check the connection URL and "
        "that the register is online"
    )
    assert server.connections == []
    stored = IntegrationRepository().get_by_id(integration_id)
    assert stored is not None and stored.connection["message"] == body["message"]
    assert "127.0.0.1 is a loopback address" in caplog.text


def test_the_connection_test_does_not_hold_the_web_request_past_its_deadline(
    api: RecordingClient, location: Location, settings: Any
) -> None:
    body = SYSTEM.encode()
    with raw_server(trickle(signed_head(SIGNATURE_KEY, body) + body, every=0.2)) as server:
        connect(api, location, server.url())
        settings.POS_CONNECTION_TEST_DEADLINE_SECONDS = 1.5
        started = time.monotonic()
        result = run_test(api, location)
        elapsed = time.monotonic() - started
    assert result["connected"] is False
    assert "did not finish within its deadline" in result["message"]
    assert elapsed < 2.5
