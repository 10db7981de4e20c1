"""Request signing (``Date`` + ``Signature``) and response-signature checks."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx

from kassanet._exceptions import SignatureError, StaleResponseError

__all__ = [
    "MAX_RESPONSE_SKEW_SECONDS",
    "UNSIGNED_RESPONSE",
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


MAX_RESPONSE_SKEW_SECONDS = 300
"""An answer whose ``Date`` is further than this from our clock is refused (protocol page,
section 3): it is a replay, or the register's clock is wrong."""

UNSIGNED_RESPONSE = "The register's answer is not signed"


def verify_response_signature(
    response: httpx.Response,
    signature_key: str | bytes,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
    allow_unsigned: bool = False,
    max_skew_seconds: float = MAX_RESPONSE_SKEW_SECONDS,
) -> None:
    """Check that a register's answer is authentic and fresh (protocol page, section 3).

    A 2xx answer must carry ``Date`` and a ``Signature`` that verifies over ``Date`` + body,
    and its ``Date`` must be within ``max_skew_seconds`` of ``now`` (a replayed success must
    not pass); ``allow_unsigned`` (an integration's explicit opt-out) accepts an answer without
    the headers, but still checks one that has them. An error answer is checked only when it
    is signed, and only its signature (a stale error answer changes nothing). Raises
    :class:`SignatureError` (:class:`StaleResponseError` for a stale ``Date``).
    """
    date = response.headers.get("Date")
    signature = response.headers.get("Signature")
    status = response.status_code
    if date is None or signature is None:
        if response.is_success and not allow_unsigned:
            raise SignatureError(
                f"{UNSIGNED_RESPONSE} (no Date and Signature headers); a Kassanet register "
                "signs every answer, so check that the connection URL points at the register "
                "itself and not at a proxy or another server",
                status_code=status,
                request_id=request_id,
            )
        return
    if not signature_matches(signature_key, date, response.content, signature):
        raise SignatureError(
            "The register's response signature does not verify: check that the signature key "
            "matches the register's, and that nothing between us rewrites responses",
            status_code=status,
            request_id=request_id,
        )
    if not response.is_success:
        return
    try:
        sent = parse_date(date)
    except ValueError:
        raise SignatureError(
            "The register's answer has a Date header that is not ISO 8601",
            status_code=status,
            request_id=request_id,
        ) from None
    # Date has whole seconds: compare with our clock at the same precision.
    skew = ((now or utc_now()).replace(microsecond=0) - sent).total_seconds()
    if abs(skew) > max_skew_seconds:
        raise StaleResponseError(
            f"The register's answer is dated {abs(skew):.0f} s "
            f"{'before' if skew > 0 else 'after'} our clock (more than {max_skew_seconds:.0f} s):"
            " it is a replayed answer, or the register's clock is wrong; set the register's "
            "clock right (NTP)",
            status_code=status,
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
