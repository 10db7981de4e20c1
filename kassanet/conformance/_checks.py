"""The eight checks of the conformance kit (issue 12), run against one register.

Everything that production does goes through :class:`~kassanet.KassanetClient`; the kit adds
only what the client does not show: one raw, signed probe of ``test`` (its headers for the
clock skew, its signature, and its body decoded with both encryption flags, to tell
"encryption off on the register" from "wrong token"), and the raw JSON of each read answer
(to list the fields the client ignores).
"""

from __future__ import annotations

import ipaddress
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx

from kassanet import _models as m
from kassanet._auth import (
    MAX_RESPONSE_SKEW_SECONDS,
    REQUEST_ID_HEADER,
    UNSIGNED_RESPONSE,
    Clock,
    KassanetAuth,
    parse_date,
    signature_matches,
    utc_now,
)
from kassanet._client import KassanetClient
from kassanet._codec import decode_body, parse_error_payload
from kassanet._exceptions import (
    BlowfishDecryptionError,
    CryptoError,
    InvalidBase64Error,
    KassanetError,
    NotFoundError,
    PayloadError,
    SignatureError,
)
from kassanet._retry import RetryPolicy

__all__ = [
    "CHECKS",
    "WARN_SKEW_SECONDS",
    "CheckResult",
    "Status",
    "Target",
    "TestOrder",
    "parse_order",
    "real_bill_warning",
    "run_checks",
]

WARN_SKEW_SECONDS = 60
FAIL_SKEW_SECONDS = MAX_RESPONSE_SKEW_SECONDS
TEST_QUANTITY = 2
TEST_NOTE = "Conformance test order: not a real sale"
CONNECTION_TEST_FAILED = "Connection test failed"
TOTAL_MISMATCH = "Total amount mismatch"
# Like the connection test in production: one quick retry at most.
KIT_RETRY = RetryPolicy(max_attempts=2, initial_delay=0.5, total_budget=3.0)
MASK = "••••"
MIN_SECRET_TO_MASK = 4

CHECKS: tuple[tuple[int, str, str], ...] = (
    (1, "reachable", "Register reachable"),
    (2, "clock_skew", "Clock skew"),
    (3, "signatures", "Response signatures"),
    (4, "encryption", "Encryption flag and token"),
    (5, "read_endpoints", "Read endpoints"),
    (6, "webshop_payment_type", "Webshop payment type"),
    (7, "tables", "Tables"),
    (8, "test_order", "Test order"),
)
_TITLES = {number: title for number, _, title in CHECKS}
_NAMES = {number: name for number, name, _ in CHECKS}


class Status(StrEnum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist; ``action`` says what to do when it is not a pass."""

    number: int
    status: Status
    message: str
    action: str | None = None
    info: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return _NAMES[self.number]

    @property
    def title(self) -> str:
        return _TITLES[self.number]

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.number,
            "name": self.name,
            "title": self.title,
            "status": str(self.status),
            "message": self.message,
            "action": self.action,
            "info": list(self.info),
            "details": self.details,
        }


@dataclass(frozen=True)
class Target:
    """A register and our credentials for it (the fields of an integration's credentials)."""

    base_url: str
    signature_key: str = field(repr=False)
    encryption_token: str = field(repr=False)
    enable_encryption: bool
    timeout: float = 10.0

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL:
            raise ValueError("the base URL is not a valid URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"the base URL must be an http:// or https:// address, got {self.display_url!r}"
            )
        if not self.signature_key:
            raise ValueError("the signature key is empty")
        if self.enable_encryption and not self.encryption_token:
            raise ValueError("encryption is on but the encryption token is empty")
        if self.timeout <= 0:
            raise ValueError("the timeout must be positive")

    @property
    def endpoint_base(self) -> str:
        return self.base_url.rstrip("/") + "/"

    @property
    def display_url(self) -> str:
        """The base URL without user info or query (they could hold secrets)."""
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL:
            return "(an invalid URL)"
        port = f":{url.port}" if url.port else ""
        path = url.path.rstrip("/") + "/"
        return f"{url.scheme}://{url.host}{port}{path}" if url.host else "(an invalid URL)"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.signature_key, self.encryption_token) if s)


@dataclass(frozen=True)
class TestOrder:
    """``--order PRODUCT_ID[:MODIFIER_ID...]``: what the test order puts on the bill."""

    __test__ = False  # not a pytest test class

    product_id: str
    modifier_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ":".join((self.product_id, *self.modifier_ids))


def parse_order(value: str) -> TestOrder:
    """Parse ``P12:M3-1:M3-2``; raises ``ValueError`` for an empty product or modifier id."""
    parts = [part.strip() for part in value.split(":")]
    if not parts[0] or not all(parts):
        raise ValueError(
            f"--order expects PRODUCT_ID[:MODIFIER_ID...] (e.g. P12:M3-1), got {value!r}"
        )
    return TestOrder(parts[0], tuple(parts[1:]))


def real_bill_warning(order: TestOrder) -> str:
    return (
        f"The test order writes a real bill on the register: {TEST_QUANTITY} x {order} on a "
        "free table, marked TEST-..., then paid with the Webshop payment type. It shows in the "
        "register's day totals; void or refund it there if your bookkeeping needs that."
    )


# -- the fields the protocol page names, to list the others as information -------------------

Schema = dict[str, Any] | None
_CATEGORY_LEAF: Schema = {"id": None, "name": None, "parent": None}
_CATEGORY: Schema = {"id": None, "name": None, "parent": _CATEGORY_LEAF}
_MODIFIER: Schema = {"id": None, "name": None, "kitchen_name": None, "price": None}
_PRODUCT: Schema = {
    "id": None,
    "name": None,
    "kitchen_name": None,
    "plu": None,
    "price": None,
    "vat_rate": None,
    "category": _CATEGORY,
    "modifier_groups": {"id": None, "name": None, "min": None, "max": None, "modifiers": _MODIFIER},
    "stock": None,
    "active": None,
}
_LINE: Schema = {
    "product_id": None,
    "quantity": None,
    "unit_price": None,
    "modifiers": {"modifier_id": None, "quantity": None, "unit_price": None},
    "note": None,
}
SCHEMAS: dict[str, Schema] = {
    "test": {"status": None, "system": {"name": None, "version": None, "register": None}},
    "GetAllProducts": {"products": _PRODUCT},
    "GetProductSelection": {
        "selections": {"id": None, "name": None, "sort": None, "product_ids": None}
    },
    "TableNumbers": {"tables": {"number": None, "name": None}},
    "GetFreeTableNumber": {"table_number": None},
    "GetPaymentTypes": {"payment_types": {"id": None, "name": None}},
    "GetBill": {
        "bill_id": None,
        "table_number": None,
        "status": None,
        "lines": _LINE,
        "total": None,
        "references": None,
        "paid_references": None,
    },
}
READ_ENDPOINTS = tuple(SCHEMAS)


def unknown_fields(value: Any, schema: Schema, path: str = "") -> set[str]:
    """Dotted paths (``products[].color``) of the fields of ``value`` that ``schema`` lacks."""
    if schema is None:
        return set()
    if isinstance(value, list):
        return set().union(*(unknown_fields(item, schema, path + "[]") for item in value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key in schema:
            found |= unknown_fields(item, schema[key], where)
        else:
            found.add(where)
    return found


# -- plumbing ---------------------------------------------------------------------------------


class _RecordingTransport(httpx.BaseTransport):
    """The client's default transport, keeping the last 2xx answer body per endpoint."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.bodies: dict[str, bytes] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if 200 <= response.status_code < 300:
            self.bodies[request.url.path.rstrip("/").rsplit("/", 1)[-1]] = response.read()
        return response

    def close(self) -> None:
        self._inner.close()


@dataclass
class _Probe:
    response: httpx.Response
    received_at: datetime
    elapsed_ms: int


@dataclass
class _Endpoint:
    """What one read endpoint answered: ``value`` (parsed) or ``error``."""

    value: Any = None
    error: KassanetError | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _tls_problem(error: BaseException) -> str | None:
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or str(cause)
        if isinstance(cause, ssl.SSLError):
            return cause.reason or str(cause)
    text = str(error)
    return text if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text else None


def _decode(body: bytes, encrypted: bool, token: str) -> Any:
    """``decode_body``, returning ``None`` instead of raising."""
    try:
        return decode_body(body, encrypted=encrypted, token=token)
    except KassanetError:
        return None


def _is_kassanet_body(payload: Any) -> bool:
    """A ``test`` answer, or a section-4 error body (a proxy's 404 page is neither)."""
    if not isinstance(payload, dict):
        return False
    return "status" in payload or parse_error_payload(payload)[0] is not None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _error_of(payload: Any) -> tuple[str | None, str | None]:
    return parse_error_payload(payload)


def _money(amount: Decimal) -> str:
    return m.format_money(amount)


def _mods(modifiers: set[tuple[str, int, Decimal]]) -> str:
    shown = (f"{i} x{q} at {_money(p)}" for i, q, p in sorted(modifiers))
    return ", ".join(shown) or "none"


class _Run:
    def __init__(self, target: Target, order: TestOrder | None, clock: Clock) -> None:
        self.target = target
        self.order = order
        self.clock = clock
        self.results: dict[int, CheckResult] = {}
        self.probe: _Probe | None = None
        self.endpoints: dict[str, _Endpoint] = {}
        self.recorder = _RecordingTransport()
        self.webshop: m.PaymentType | None = None
        self.raw_products: list[Any] = []

    # -- results -------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        for secret in sorted(self.target.secrets, key=len, reverse=True):
            if len(secret) >= MIN_SECRET_TO_MASK:
                text = text.replace(secret, MASK)
        return text

    def add(
        self,
        number: int,
        status: Status,
        message: str,
        action: str | None = None,
        info: tuple[str, ...] | list[str] = (),
        **details: Any,
    ) -> CheckResult:
        result = CheckResult(
            number,
            status,
            self.scrub(message),
            None if action is None else self.scrub(action),
            tuple(self.scrub(i) for i in info),
            details,
        )
        self.results[number] = result
        return result

    def failed(self, number: int) -> bool:
        return self.results[number].status is Status.FAILED

    def skip(self, number: int, because: int, why: str = "") -> None:
        self.add(
            number,
            Status.SKIPPED,
            f"Not run, because check {because} ({_TITLES[because]}) did not pass"
            + (f": {why}." if why else "."),
            f"Fix check {because} first, then run the kit again.",
            blocked_by=because,
        )

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> list[CheckResult]:
        try:
            self.guard(1, self.check_reachable)
            if self.probe is None:
                for number in range(2, 9):
                    self.skip(number, 1)
                return self.ordered()
            self.guard(2, self.check_clock)
            self.guard(3, self.check_signatures)
            self.guard(4, self.check_encryption)
            blocker = next((n for n in (2, 3, 4) if self.failed(n)), None)
            if blocker is not None:
                for number in range(5, 9):
                    self.skip(number, blocker, self._blocker_reason(blocker))
                return self.ordered()
            with self.client() as client:
                self.guard(5, lambda: self.check_read_endpoints(client))
                self.guard(6, self.check_webshop)
                self.guard(7, self.check_tables)
                self.guard(8, lambda: self.check_test_order(client))
        finally:
            self.recorder.close()
        return self.ordered()

    def guard(self, number: int, check: Callable[[], None]) -> None:
        """Run one check; a failure of the kit itself fails that check instead of the run."""
        try:
            check()
        except Exception as error:
            self.add(
                number,
                Status.FAILED,
                f"The kit could not complete this check ({type(error).__name__}: {error}).",
                "Report this, with the output above, to the platform's developers.",
            )

    def ordered(self) -> list[CheckResult]:
        return [self.results[number] for number in sorted(self.results)]

    @staticmethod
    def _blocker_reason(number: int) -> str:
        return {
            2: "the register refuses our requests, and we refuse its answers, while the clocks "
            f"are more than {FAIL_SKEW_SECONDS} s apart",
            3: "the client refuses every answer whose signature does not verify",
            4: "the client cannot read the register's answers",
        }[number]

    def client(self) -> KassanetClient:
        """The production client, with the kit's quick retry and a recording transport."""
        target = self.target
        return KassanetClient(
            target.base_url,
            target.signature_key,
            target.encryption_token,
            target.enable_encryption,
            timeout=httpx.Timeout(target.timeout, connect=min(5.0, target.timeout)),
            retry=KIT_RETRY,
            transport=self.recorder,
            clock=self.clock,
        )

    # -- 1. reachable -------------------------------------------------------------------------

    def check_reachable(self) -> None:
        target = self.target
        url = target.endpoint_base + "test"
        shown = target.display_url + "test"
        auth = KassanetAuth(
            target.signature_key, encrypted=target.enable_encryption, clock=self.clock
        )
        reach = (
            "Check the base URL, that the register is on, and that this server may reach it "
            "(firewall, VPN)."
        )
        try:
            with httpx.Client(
                auth=auth,
                timeout=httpx.Timeout(target.timeout, connect=min(5.0, target.timeout)),
                follow_redirects=False,
            ) as http:
                started = time.monotonic()
                response = http.get(url, headers={REQUEST_ID_HEADER: str(uuid.uuid4())})
                response.read()
                elapsed_ms = round((time.monotonic() - started) * 1000)
        except httpx.TimeoutException:
            self.add(
                1,
                Status.FAILED,
                f"{CONNECTION_TEST_FAILED}: {shown} did not answer within {target.timeout:g} s.",
                reach,
            )
            return
        except httpx.TransportError as error:
            tls = _tls_problem(error) if httpx.URL(url).scheme == "https" else None
            if tls is not None:
                self.add(
                    1,
                    Status.FAILED,
                    f"{CONNECTION_TEST_FAILED}: the TLS certificate of {shown} is not valid "
                    f"({tls}).",
                    "Give the register a certificate for the host name in the URL, issued by a "
                    "certificate authority this server trusts, or correct the host name.",
                    tls_error=tls,
                )
            else:
                self.add(
                    1,
                    Status.FAILED,
                    f"{CONNECTION_TEST_FAILED}: could not connect to {shown} "
                    f"({type(error).__name__}: {error}).",
                    reach,
                )
            return
        received_at = self.clock()
        status = response.status_code
        if response.is_redirect:
            where = response.headers.get("Location", "?")
            self.add(
                1,
                Status.FAILED,
                f"{CONNECTION_TEST_FAILED}: {shown} answers HTTP {status}, a redirect to "
                f"{where}; the client does not follow redirects.",
                "Put the register's own address in the base URL.",
                http_status=status,
            )
            return
        if "Signature" not in response.headers and not any(
            _is_kassanet_body(_decode(response.content, flag, target.encryption_token))
            for flag in (True, False)
        ):
            self.add(
                1,
                Status.FAILED,
                f"{CONNECTION_TEST_FAILED}: {shown} answered HTTP {status}, but not as a "
                "Kassanet register does (unsigned, and not a Kassanet JSON body).",
                "Check the base URL: host, port and the path prefix of the register's API "
                "(e.g. https://pos.example.be/kassanet/).",
                http_status=status,
            )
            return
        self.probe = _Probe(response, received_at, elapsed_ms)
        scheme, host = httpx.URL(url).scheme, httpx.URL(url).host
        message = f"{shown} answered HTTP {status} in {elapsed_ms} ms"
        if scheme == "https":
            self.add(
                1,
                Status.PASSED,
                message + "; its TLS certificate is valid.",
                http_status=status,
                elapsed_ms=elapsed_ms,
            )
        elif _is_loopback(host):
            self.add(
                1,
                Status.PASSED,
                message + " (plain HTTP, on this machine).",
                http_status=status,
                elapsed_ms=elapsed_ms,
            )
        else:
            self.add(
                1,
                Status.WARNING,
                message + ", over plain HTTP to another machine.",
                "Use https:// for a register on the network; plain HTTP is for a register on "
                "this machine or for development only.",
                http_status=status,
                elapsed_ms=elapsed_ms,
            )

    # -- 2. clock skew -----------------------------------------------------------------------

    def check_clock(self) -> None:
        assert self.probe is not None
        date = self.probe.response.headers.get("Date")
        if date is None:
            self.add(
                2,
                Status.SKIPPED,
                "The register's answer has no Date header, so its clock cannot be compared "
                "(see check 3).",
                "Fix check 3 first, then run the kit again.",
                blocked_by=3,
            )
            return
        try:
            theirs = parse_date(date)
        except ValueError:
            self.add(
                2,
                Status.FAILED,
                f"The register's Date header {date[:40]!r} is not ISO 8601 with an offset "
                "(like 2026-11-26T19:33:10+00:00).",
                "Ask the register's supplier to send Date as PHP's date('c') writes it.",
            )
            return
        skew = round((self.probe.received_at.replace(microsecond=0) - theirs).total_seconds())
        side = "behind" if skew > 0 else "ahead of"
        text = f"The register's clock is {abs(skew)} s {side} ours"
        if not skew:
            text = "The register's clock agrees with ours"
        fix = (
            "Set the register's clock right (turn on NTP time synchronisation on the register), "
            "and check this server's clock too."
        )
        if abs(skew) > FAIL_SKEW_SECONDS:
            self.add(
                2,
                Status.FAILED,
                f"{text}: more than {FAIL_SKEW_SECONDS} s, so the register refuses our requests "
                "(HTTP 401) and we refuse its answers.",
                fix,
                skew_seconds=skew,
            )
        elif abs(skew) > WARN_SKEW_SECONDS:
            self.add(
                2,
                Status.WARNING,
                f"{text}: more than {WARN_SKEW_SECONDS} s; above {FAIL_SKEW_SECONDS} s the "
                "register will refuse our requests.",
                fix,
                skew_seconds=skew,
            )
        else:
            self.add(
                2,
                Status.PASSED,
                f"{text} (at most {WARN_SKEW_SECONDS} s is fine).",
                skew_seconds=skew,
            )

    # -- 3. signatures -----------------------------------------------------------------------

    def check_signatures(self) -> None:
        assert self.probe is not None
        response, target = self.probe.response, self.target
        date, signature = response.headers.get("Date"), response.headers.get("Signature")
        status = response.status_code
        refused = status == 401
        if date is None or signature is None:
            self.add(
                3,
                Status.FAILED,
                f"{UNSIGNED_RESPONSE} (no Date and Signature headers); the client refuses "
                "unsigned answers.",
                "Check that the base URL points at the register itself and not at a proxy, and "
                "that the register's Kassanet module signs its answers (update it if not).",
                http_status=status,
            )
            return
        if not signature_matches(target.signature_key, date, response.content, signature):
            self.add(
                3,
                Status.FAILED,
                "The register's response signature does not verify with our signature key"
                + (", and the register refused our request (HTTP 401)." if refused else "."),
                "Copy the signature key from the register again (it must be the very same "
                "key); if it is right, something between us and the register rewrites answers.",
                http_status=status,
            )
            return
        code, text = _error_of(self._payload_any())
        if refused and code != "CLOCK_SKEW":
            self.add(
                3,
                Status.FAILED,
                "The register's answer is signed with our key, but it refused our signed "
                f"request: HTTP 401 ({code or '-'}: {text or response.reason_phrase}).",
                "Check the signature key on both sides, and that nothing between us rewrites "
                "requests (their Date header and body are signed).",
                http_status=status,
                code=code,
            )
            return
        self.add(
            3,
            Status.PASSED,
            "The register signs its answers with our signature key (HMAC-SHA256 over Date and "
            "body)" + (", and accepts our signed requests." if response.is_success else "."),
            http_status=status,
        )

    def _payload_any(self) -> Any:
        assert self.probe is not None
        body, token = self.probe.response.content, self.target.encryption_token
        ours = self.target.enable_encryption
        for flag in (ours, not ours):
            payload = _decode(body, flag, token)
            if payload is not None:
                return payload
        return None

    # -- 4. encryption -----------------------------------------------------------------------

    def check_encryption(self) -> None:
        assert self.probe is not None
        body, token = self.probe.response.content, self.target.encryption_token
        if self.target.enable_encryption:
            try:
                decode_body(body, encrypted=True, token=token)
            except InvalidBase64Error:
                if _decode(body, False, token) is not None:
                    self.add(
                        4,
                        Status.FAILED,
                        "Invalid base64 input: the register answers in plain JSON, so "
                        "encryption is off on the register while it is on here.",
                        "Turn the encryption flag off here (--no-encrypt; enable_encryption "
                        "false in the connection settings), or turn encryption on at the "
                        "register.",
                        register_encrypts=False,
                    )
                else:
                    self.add(
                        4,
                        Status.FAILED,
                        "Invalid base64 input: the register's answer is neither encrypted nor "
                        "JSON.",
                        "Check the base URL, and that the encryption flag matches the register's.",
                    )
                return
            except BlowfishDecryptionError:
                self.add(
                    4,
                    Status.FAILED,
                    "Blowfish decryption error: the register encrypts its answers, but not "
                    "with our encryption token (the flag matches; the token is wrong).",
                    "Copy the encryption token from the register again.",
                    register_encrypts=True,
                )
                return
            self.add(
                4,
                Status.PASSED,
                "Encryption is on here and on the register, and the "
                "token matches (Blowfish-CBC answers decrypt).",
                register_encrypts=True,
            )
            return
        try:
            decode_body(body, encrypted=False, token=token)
        except PayloadError:
            try:
                decode_body(body, encrypted=True, token=token)
            except InvalidBase64Error:
                self.add(
                    4,
                    Status.FAILED,
                    "The register's answer is not JSON, and not an encrypted body either.",
                    "Check the base URL.",
                )
            except CryptoError:
                self.add(
                    4,
                    Status.FAILED,
                    "Blowfish decryption error: the register encrypts its answers (encryption "
                    "is on at the register, off here), and our encryption token does not "
                    "decrypt them either.",
                    "Turn the encryption flag on here (--encrypt) and copy the encryption token "
                    "from the register.",
                    register_encrypts=True,
                )
            else:
                self.add(
                    4,
                    Status.FAILED,
                    "The register encrypts its answers: encryption is on at the register while "
                    "it is off here (the token matches).",
                    "Turn the encryption flag on here (--encrypt; enable_encryption true in the "
                    "connection settings), or turn encryption off at the register.",
                    register_encrypts=True,
                )
            return
        self.add(
            4,
            Status.PASSED,
            "Encryption is off both here and at the register (plain JSON answers).",
            register_encrypts=False,
        )

    # -- 5. read endpoints -------------------------------------------------------------------

    def _read(self, endpoint: str, call: Callable[[], Any], *tolerated: str) -> _Endpoint:
        try:
            result = _Endpoint(call())
        except NotFoundError as error:
            if error.code in tolerated:
                result = _Endpoint(None, note=f"404 {error.code}")
            else:
                result = _Endpoint(error=error)
        except KassanetError as error:
            result = _Endpoint(error=error)
        self.endpoints[endpoint] = result
        return result

    def check_read_endpoints(self, client: KassanetClient) -> None:
        self._read("test", client.test)
        products = self._read("GetAllProducts", client.get_all_products_raw)
        self._read("GetProductSelection", client.get_product_selection)
        tables = self._read("TableNumbers", client.table_numbers)
        free = self._read("GetFreeTableNumber", client.get_free_table_number, "NO_FREE_TABLE")
        self._read("GetPaymentTypes", client.get_payment_types)
        table = free.value if isinstance(free.value, int) else None
        if table is None and tables.ok and tables.value:
            table = tables.value[0].number
        if table is not None:
            self._read("GetBill", lambda: client.get_bill(table), "BILL_NOT_FOUND")

        warnings: list[str] = []
        info: list[str] = []
        system = self.endpoints["test"].value
        if isinstance(system, m.SystemInfo):
            info.append(f"register: {system.name} {system.version} ({system.register})")
            if system.status != "ok":
                warnings.append(f"test answers status {system.status!r}, not 'ok'")
        if products.ok:
            self.raw_products = list(products.value)
            bad: list[str] = []
            for i, item in enumerate(self.raw_products):
                try:
                    m.parse_product(item, f"products[{i}]")
                except PayloadError as error:
                    bad.append(error.message)
            if bad:
                warnings.append(
                    f"{len(bad)} of {len(self.raw_products)} products do not parse and would "
                    f"be skipped by the menu import (first: {bad[0]})"
                )
        for endpoint in READ_ENDPOINTS:
            raw = self.recorder.bodies.get(endpoint)
            if endpoint not in self.endpoints or not self.endpoints[endpoint].ok or raw is None:
                continue
            payload = _decode(raw, self.target.enable_encryption, self.target.encryption_token)
            extra = sorted(unknown_fields(payload, SCHEMAS[endpoint]))
            if extra:
                info.append(f"{endpoint}: unknown fields, ignored: {', '.join(extra)}")
        if table is None and "GetBill" not in self.endpoints:
            info.append("GetBill: not asked, the register has no table to ask about")

        summary = {
            name: ("ok" if e.ok else "failed") + (f" ({e.note})" if e.note else "")
            for name, e in self.endpoints.items()
        }
        broken = {name: e.error for name, e in self.endpoints.items() if e.error is not None}
        if broken:
            missing = [n for n, e in broken.items() if isinstance(e, NotFoundError)]
            action = "Update the register's Kassanet module so that it has every endpoint of "
            action += "the protocol" if missing else "the protocol and answers them as specified"
            if any(isinstance(e, SignatureError | CryptoError) for e in broken.values()):
                action += "; see checks 2 to 4 for signature and encryption problems"
            self.add(
                5,
                Status.FAILED,
                f"{len(broken)} of {len(self.endpoints)} read endpoints did not answer "
                "correctly: "
                + "; ".join(f"{name}: {error.message}" for name, error in broken.items()),
                action + ".",
                info,
                endpoints=summary,
            )
            return
        counts = self._counts()
        if warnings:
            self.add(
                5,
                Status.WARNING,
                f"All {len(self.endpoints)} read endpoints answer ({counts}), but: "
                + "; ".join(warnings)
                + ".",
                "Correct these items in the register's back office.",
                info,
                endpoints=summary,
            )
            return
        self.add(
            5,
            Status.PASSED,
            f"All {len(self.endpoints)} read endpoints answer and parse ({counts}).",
            None,
            info,
            endpoints=summary,
        )

    def _counts(self) -> str:
        parts = [_plural(len(self.raw_products), "product")]
        for endpoint, noun in (
            ("GetProductSelection", "selection"),
            ("TableNumbers", "table"),
            ("GetPaymentTypes", "payment type"),
        ):
            value = self.endpoints[endpoint].value
            parts.append(_plural(len(value or []), noun))
        return ", ".join(parts)

    # -- 6. Webshop payment type -------------------------------------------------------------

    def check_webshop(self) -> None:
        types = self.endpoints.get("GetPaymentTypes", _Endpoint(error=KassanetError("")))
        if not types.ok:
            self.skip(6, 5, "GetPaymentTypes did not answer")
            return
        payment_types: list[m.PaymentType] = types.value
        self.webshop = next((p for p in payment_types if p.name.strip().lower() == "webshop"), None)
        if self.webshop is None:
            names = ", ".join(sorted(p.name for p in payment_types)) or "none"
            self.add(
                6,
                Status.FAILED,
                f"The register has no payment type named Webshop (it has: {names}); "
                "online and kiosk orders are paid with it.",
                "Add a payment type named Webshop in the register, then run the kit again.",
                payment_types=names,
            )
            return
        self.add(
            6,
            Status.PASSED,
            f"Payment type Webshop exists (id {self.webshop.id}).",
            payment_type_id=self.webshop.id,
        )

    # -- 7. tables ---------------------------------------------------------------------------

    def check_tables(self) -> None:
        unread = _Endpoint(error=KassanetError(""))
        tables = self.endpoints.get("TableNumbers", unread)
        free = self.endpoints.get("GetFreeTableNumber", unread)
        if not tables.ok or not free.ok:
            missing = "TableNumbers" if not tables.ok else "GetFreeTableNumber"
            self.skip(7, 5, f"{missing} did not answer")
            return
        numbers = [t.number for t in tables.value]
        if not numbers:
            self.add(
                7,
                Status.FAILED,
                "The register has no table numbers; every order is placed on a table.",
                "Add tables in the register (a few more than the kiosk and online orders "
                "that can be open at once).",
                tables=0,
            )
            return
        span = f"{len(numbers)} tables ({min(numbers)} to {max(numbers)})"
        if free.value is None:
            self.add(
                7,
                Status.WARNING,
                f"{span}, but no free table now (404 NO_FREE_TABLE): every table has an open "
                "bill, so orders go on the least recently used table.",
                "Close the bills left open in the register, or add tables.",
                tables=len(numbers),
                free_table=None,
            )
            return
        if free.value not in numbers:
            self.add(
                7,
                Status.WARNING,
                f"{span}; the free table {free.value} from GetFreeTableNumber is not one of them.",
                "Ask the register's supplier why GetFreeTableNumber answers a table that "
                "TableNumbers does not list.",
                tables=len(numbers),
                free_table=free.value,
            )
            return
        self.add(
            7,
            Status.PASSED,
            f"{span}; table {free.value} is free.",
            tables=len(numbers),
            free_table=free.value,
        )

    # -- 8. test order -----------------------------------------------------------------------

    def check_test_order(self, client: KassanetClient) -> None:
        order = self.order
        if order is None:
            self.add(
                8,
                Status.SKIPPED,
                "No test order (it writes a real bill on the register, so it only runs when "
                "asked).",
                "To check pricing and payment end to end, run again with --order "
                "PRODUCT_ID[:MODIFIER_ID...] --yes.",
            )
            return
        if "GetAllProducts" not in self.endpoints or not self.endpoints["GetAllProducts"].ok:
            self.skip(8, 5, "GetAllProducts did not answer, so the order cannot be priced")
            return
        for number, need in ((6, "the Webshop payment type"), (7, "a free table")):
            if number not in self.results:
                self.skip(8, number, f"the test order needs {need}")
                return
            if self.results[number].status not in (Status.PASSED, Status.WARNING) or (
                number == 7 and self.results[7].details.get("free_table") is None
            ):
                self.skip(8, number, f"the test order needs {need}")
                return
        assert self.webshop is not None
        planned = self._plan(order)
        if isinstance(planned, str):
            self.add(
                8,
                Status.FAILED,
                f"Test order {order} not sent: {planned}.",
                "Choose a product (and modifiers) of the register's menu for --order; nothing "
                "was written on the register.",
                order=str(order),
            )
            return
        product, line = planned
        self._place(client, order, product, line)

    def _plan(self, order: TestOrder) -> tuple[m.Product, m.OrderLine] | str:
        """The test line, priced from the register's menu; a string says why not."""
        raw = next(
            (
                p
                for p in self.raw_products
                if isinstance(p, dict) and str(p.get("id")) == order.product_id
            ),
            None,
        )
        if raw is None:
            return f"product {order.product_id} is not on the register's menu (GetAllProducts)"
        try:
            product = m.parse_product(raw, f"product {order.product_id}")
        except PayloadError as error:
            return f"the register's product {order.product_id} does not parse ({error.message})"
        if not product.active:
            return f"product {product.id} ({product.name}) is inactive on the register"
        owners: dict[str, tuple[m.ModifierGroup, m.Modifier]] = {
            modifier.id: (group, modifier)
            for group in product.modifier_groups
            for modifier in group.modifiers
        }
        chosen = Counter(order.modifier_ids)
        for modifier_id in chosen:
            if modifier_id not in owners:
                groups = "; ".join(
                    f"'{g.name}': {', '.join(x.id for x in g.modifiers)}"
                    for g in product.modifier_groups
                )
                return (
                    f"modifier {modifier_id} is not in a modifier group of product "
                    f"{product.id} (its groups: {groups or 'none'})"
                )
        for group in product.modifier_groups:
            count = sum(n for mid, n in chosen.items() if owners[mid][0].id == group.id)
            if count < group.min:
                return f"Choose at least {group.min} option(s) in '{group.name}'"
            if count > group.max:
                return f"Choose at most {group.max} option(s) in '{group.name}'"
        modifiers = tuple(
            m.OrderLineModifier(mid, n, owners[mid][1].price) for mid, n in chosen.items()
        )
        return product, m.OrderLine(product.id, TEST_QUANTITY, product.price, modifiers, TEST_NOTE)

    def _place(
        self, client: KassanetClient, order: TestOrder, product: m.Product, line: m.OrderLine
    ) -> None:
        assert self.webshop is not None
        reference = f"TEST-{self.clock().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        expected = line.total
        formula = (
            f"{line.quantity} x ({_money(line.unit_price)}"
            + "".join(
                f" + {_money(x.unit_price)}" + (f" x {x.quantity}" if x.quantity != 1 else "")
                for x in line.modifiers
            )
            + f") = {_money(expected)}"
        )
        described = f"{line.quantity} x {product.id} {product.name!r}" + "".join(
            f" + {x.modifier_id}" for x in line.modifiers
        )
        details: dict[str, Any] = {
            "reference": reference,
            "order": str(order),
            "expected_total": _money(expected),
        }
        table: int | None = None
        stage = "GetFreeTableNumber"
        try:
            table = client.get_free_table_number()
            details["table_number"] = table
            stage = "SendOrder"
            client.send_order(reference, table, [line], service_type="eat_in")
            stage = "GetBill"
            bill = client.get_bill(table)
            details["bill_id"] = bill.bill_id
            details["billed_total"] = _money(bill.total)
            problems = self._compare(bill, reference, product, line)
            if problems:
                self.add(
                    8,
                    Status.FAILED,
                    f"Test order {reference} on table {table} ({described}, priced "
                    f"{formula}): " + "; ".join(problems) + ". It was not paid.",
                    "Correct the register's prices or pricing (a modifier counts once per unit "
                    f"of its line, protocol section 6). The test bill ({reference}, table "
                    f"{table}) stays open on the register: void it there.",
                    **details,
                )
                return
            stage = "PayBill"
            paid = client.pay_bill(reference, table, self.webshop.id, expected)
            stage = "GetBill after PayBill"
            after = client.get_bill(table)
        except KassanetError as error:
            where = f" on table {table}" if table is not None else ""
            amount_problem = error.code == "AMOUNT_MISMATCH"
            self.add(
                8,
                Status.FAILED,
                (f"{TOTAL_MISMATCH}: " if amount_problem else "")
                + f"Test order {reference}{where} failed at {stage}: {error.message}.",
                "Fix what the message says."
                + (
                    f" The test bill may be open on table {table}: check it on the register "
                    "and void it there."
                    if table is not None and stage != "SendOrder"
                    else ""
                ),
                **details,
            )
            return
        if (
            paid.status != "paid"
            or after.status != "paid"
            or reference not in after.paid_references
        ):
            self.add(
                8,
                Status.FAILED,
                f"Test order {reference} on table {table}: PayBill answered {paid.status!r}, "
                f"and the bill reads back as {after.status!r} with paid references "
                f"{list(after.paid_references)}.",
                "Ask the register's supplier why a paid bill does not read back as paid with "
                "its reference.",
                **details,
            )
            return
        self.add(
            8,
            Status.PASSED,
            f"Test order {reference} on table {table}: {described} priced {formula}, billed "
            f"{_money(bill.total)} line by line, paid with Webshop ({self.webshop.id}) and read "
            f"back as paid (bill {after.bill_id}).",
            **details,
        )

    @staticmethod
    def _compare(bill: m.Bill, reference: str, product: m.Product, line: m.OrderLine) -> list[str]:
        """What differs between the register's bill and our line; empty when they agree."""
        problems: list[str] = []
        if not bill.is_open:
            problems.append(f"the bill is {bill.status!r}, not open")
        if reference not in bill.references:
            problems.append("the bill does not list our reference")
        ours = [x for x in bill.lines if x.product_id == product.id]
        others = [x for x in bill.lines if x.product_id != product.id]
        if others or len(ours) != 1:
            problems.append(
                f"the bill has {len(bill.lines)} lines, we sent one line of {product.id}"
            )
        expected = line.total
        if len(ours) == 1:
            theirs = ours[0]
            if theirs.quantity != line.quantity:
                problems.append(f"quantity {theirs.quantity} billed, {line.quantity} sent")
            if theirs.unit_price != line.unit_price:
                problems.append(
                    f"the register prices {product.id} at {_money(theirs.unit_price)}, its menu "
                    f"says {_money(line.unit_price)}"
                )
            sent = {(x.modifier_id, x.quantity, x.unit_price) for x in line.modifiers}
            billed = {(x.modifier_id, x.quantity, x.unit_price) for x in theirs.modifiers}
            if sent != billed:
                problems.append(f"modifiers billed: {_mods(billed)}; sent: {_mods(sent)}")
        if bill.total != expected:
            per_line = line.quantity * line.unit_price + sum(
                (x.unit_price * x.quantity for x in line.modifiers), Decimal(0)
            )
            why = ""
            if bill.total == per_line and per_line != expected:
                why = (
                    " — the register counts each modifier once per line instead of once per "
                    f"unit ({line.quantity} x {_money(line.unit_price)} + modifiers = "
                    f"{_money(per_line)})"
                )
            problems.append(
                f"{TOTAL_MISMATCH}: the register billed {_money(bill.total)}, priced per unit "
                f"it is {_money(expected)}{why}"
            )
        return problems


def run_checks(
    target: Target,
    order: TestOrder | None = None,
    *,
    confirmed: bool = False,
    clock: Clock | None = None,
) -> list[CheckResult]:
    """Run the eight checks against ``target``; one :class:`CheckResult` per check, in order.

    ``order`` places a real test order (check 8) and needs ``confirmed=True`` (the ``--yes``
    of the command line); without ``order`` check 8 is skipped. A check that cannot run
    because an earlier one failed is :attr:`Status.SKIPPED` and says which. Never raises for
    anything the register does; messages never contain the signature key or the token.
    """
    if order is not None and not confirmed:
        raise ValueError(real_bill_warning(order) + " Confirm it with --yes.")
    return _Run(target, order, clock or utc_now).run()


def exit_code(results: list[CheckResult]) -> int:
    """0 when nothing failed (warnings and skipped checks allowed), 1 when a check failed."""
    return 1 if any(r.status is Status.FAILED for r in results) else 0
