"""The one exception hierarchy of the Kassanet client.

Every error raised by :mod:`kassanet` derives from :class:`KassanetError`::

    KassanetError
    ├── TransportError                 no usable HTTP answer (retryable)
    │   ├── ConnectError               could not connect, or the connection dropped
    │   └── TimeoutError               the register did not answer in time
    ├── APIError                       the register answered with a non-2xx status
    │   ├── RequestError               400 / 422 (e.g. code AMOUNT_MISMATCH); permanent
    │   ├── AuthenticationError        401: signature key or clock; permanent
    │   ├── NotFoundError              404 (e.g. BILL_NOT_FOUND, NO_FREE_TABLE); permanent
    │   ├── ConflictError              409; permanent
    │   ├── RequestTimeoutError        408; retryable
    │   ├── RateLimitError             429; retryable, honours Retry-After
    │   └── ServerError                5xx; retryable for 500/502/503/504
    ├── CryptoError                    the encryption token or flag does not match the register
    │   ├── InvalidBase64Error         "Invalid base64 input ..."
    │   └── BlowfishDecryptionError    "Blowfish decryption error ..."
    ├── SignatureError                 an answer is unsigned, or its signature does not verify
    │   └── StaleResponseError         an answer's Date is more than 300 s from our clock
    └── PayloadError                   a decoded body does not have the documented shape

Each instance carries ``status_code`` (HTTP status or ``None``), ``code`` (the register's
``UPPER_SNAKE`` error code or ``None``), ``request_id`` (the ``request-id`` header sent) and
``retryable`` (whether the client's retry policy treats it as transient), plus
``retry_after`` (seconds, from a 429/503 ``Retry-After`` header). Messages never
contain the signature key or the encryption token.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "BlowfishDecryptionError",
    "ConflictError",
    "ConnectError",
    "CryptoError",
    "InvalidBase64Error",
    "KassanetError",
    "NotFoundError",
    "PayloadError",
    "RateLimitError",
    "RequestError",
    "RequestTimeoutError",
    "ServerError",
    "SignatureError",
    "StaleResponseError",
    "TimeoutError",
    "TransportError",
    "error_for_status",
]

_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class KassanetError(Exception):
    """Base class of every error raised by the Kassanet client."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class TransportError(KassanetError):
    """No usable HTTP answer: connection refused or dropped, or a timeout."""

    retryable = True


class ConnectError(TransportError):
    """The register could not be reached, or it dropped the connection."""


class TimeoutError(TransportError):
    """The register did not answer within the client's timeout."""


class APIError(KassanetError):
    """The register answered with a non-2xx HTTP status."""


class RequestError(APIError):
    """400 or 422: the register refused this request (e.g. ``AMOUNT_MISMATCH``)."""


class AuthenticationError(APIError):
    """401: the signature key does not match, or the clocks differ by more than 300 s."""


class NotFoundError(APIError):
    """404: e.g. ``BILL_NOT_FOUND`` or ``NO_FREE_TABLE``."""


class ConflictError(APIError):
    """409: the request conflicts with the register's state."""


class RequestTimeoutError(APIError):
    """408: the register timed out reading the request."""

    retryable = True


class RateLimitError(APIError):
    """429: too many requests; the client honours ``Retry-After``."""

    retryable = True


class ServerError(APIError):
    """5xx: the register failed; 500/502/503/504 are retried."""


class CryptoError(KassanetError):
    """The body could not be decrypted: the token or the encryption flag is wrong."""


class InvalidBase64Error(CryptoError):
    """An encrypted body is not valid base64."""


class BlowfishDecryptionError(CryptoError):
    """An encrypted body decrypts to bad padding or to something that is not JSON."""


class SignatureError(KassanetError):
    """The answer is not signed, or its ``Signature`` does not match its ``Date`` and body."""


class StaleResponseError(SignatureError):
    """The answer's ``Date`` is too far from our clock: a replay, or a wrong register clock."""


class PayloadError(KassanetError):
    """A decoded body (or one item of it) does not have the documented shape."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: RequestError,
    401: AuthenticationError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    422: RequestError,
    429: RateLimitError,
}


def error_for_status(
    status_code: int,
    message: str,
    *,
    code: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the :class:`APIError` subclass that matches an HTTP status."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else RequestError
    return cls(
        message,
        status_code=status_code,
        code=code,
        request_id=request_id,
        retryable=status_code in _RETRYABLE_STATUSES,
        retry_after=retry_after,
    )
