"""Request signing (``Date`` + ``Signature``) and response-signature checks."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx

from kassanet._exceptions import SignatureError

__all__ = [
    "Clock",
    "KassanetAuth",
    "format_date",
    "parse_date",
    "sign",
    "signature_matches",
    "utc_now",
    "verify_response_signature",
]

Clock = Callable[[], datetime]
"""A callable returning the current time as an aware ``datetime``."""

REQUEST_ID_HEADER = "request-id"


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def format_date(moment: datetime) -> str:
    """Format like PHP's ``date('c')``: ``2026-11-26T19:33:10+00:00``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the Kassanet Date header needs an aware datetime")
    return moment.replace(microsecond=0).isoformat()


def parse_date(value: str) -> datetime:
    """Parse a ``Date`` header written by :func:`format_date`; raises ``ValueError``."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("the Date header has no UTC offset")
    return moment


def _utf8(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(signature_key: str | bytes, date: str, body: bytes) -> str:
    """``hash_hmac('sha256', $date . $body, $signature_key)`` as lowercase hex."""
    return hmac.new(_utf8(signature_key), _utf8(date) + body, hashlib.sha256).hexdigest()


def signature_matches(signature_key: str | bytes, date: str, body: bytes, signature: str) -> bool:
    """Constant-time check of a ``Signature`` header."""
    return hmac.compare_digest(sign(signature_key, date, body), signature.strip().lower())


def verify_response_signature(
    response: httpx.Response, signature_key: str | bytes, *, request_id: str | None = None
) -> None:
    """Check a response's ``Signature`` when it has both ``Date`` and ``Signature`` headers.

    Raises :class:`SignatureError` on a mismatch. An unsigned response is accepted, as the
    protocol only requires checking signatures that are present.
    """
    date = response.headers.get("Date")
    signature = response.headers.get("Signature")
    if date is None or signature is None:
        return
    if not signature_matches(signature_key, date, response.content, signature):
        raise SignatureError(
            "The register's response signature does not verify: check that the signature key "
            "matches the register's, and that nothing between us rewrites responses",
            status_code=response.status_code,
            request_id=request_id,
        )


class KassanetAuth(httpx.Auth):
    """Sign every request the way a Kassanet register expects.

    Sets ``Date`` (from ``clock``), ``Signature`` (HMAC-SHA256 over date + body bytes),
    ``Content-Type`` and, unless the caller already set one, a fresh ``request-id``. The client
    sets ``request-id`` itself so that every retry of one logical call carries the same id.
    """

    requires_request_body = True

    def __init__(
        self, signature_key: str | bytes, *, encrypted: bool, clock: Clock | None = None
    ) -> None:
        self._signature_key = _utf8(signature_key)
        self._encrypted = encrypted
        self._clock = clock or utc_now

    def __repr__(self) -> str:
        return f"KassanetAuth(encrypted={self._encrypted})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        date = format_date(self._clock())
        request.headers["Date"] = date
        request.headers["Signature"] = sign(self._signature_key, date, request.content)
        request.headers["Content-Type"] = "text/plain" if self._encrypted else "application/json"
        if REQUEST_ID_HEADER not in request.headers:
            request.headers[REQUEST_ID_HEADER] = str(uuid.uuid4())
        yield request
