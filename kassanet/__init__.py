"""Kassanet: the POS protocol of Hendrickx and Vanhoutte registers.

A small, Django-free library: Blowfish body encryption compatible with PHP's
``openssl_encrypt``, request signing, a retrying HTTP client with typed payloads, one
exception tree (see :mod:`kassanet._exceptions`), a POS simulator
(:mod:`kassanet.simulator`, test helpers in :mod:`kassanet.testing`), and a conformance kit
that certifies a real register (:mod:`kassanet.conformance`).
"""

from kassanet._auth import KassanetAuth, format_date, sign, signature_matches
from kassanet._client import DEFAULT_TIMEOUT, KassanetClient
from kassanet._crypto import decrypt, effective_key, encrypt
from kassanet._exceptions import (
    APIError,
    AuthenticationError,
    BlowfishDecryptionError,
    ConflictError,
    ConnectError,
    CryptoError,
    InvalidBase64Error,
    KassanetError,
    NotFoundError,
    PayloadError,
    RateLimitError,
    RequestError,
    RequestTimeoutError,
    ServerError,
    SignatureError,
    StaleResponseError,
    TimeoutError,
    TransportError,
)
from kassanet._models import (
    SERVICE_TYPES,
    Bill,
    Category,
    Modifier,
    ModifierGroup,
    OrderLine,
    OrderLineModifier,
    PayBillResult,
    PaymentType,
    Product,
    Selection,
    SendOrderResult,
    SystemInfo,
    Table,
    format_money,
    line_total,
    parse_money,
    parse_product,
)
from kassanet._retry import RetryPolicy, default_jitter, no_jitter

__all__ = [
    "DEFAULT_TIMEOUT",
    "SERVICE_TYPES",
    "APIError",
    "AuthenticationError",
    "Bill",
    "BlowfishDecryptionError",
    "Category",
    "ConflictError",
    "ConnectError",
    "CryptoError",
    "InvalidBase64Error",
    "KassanetAuth",
    "KassanetClient",
    "KassanetError",
    "Modifier",
    "ModifierGroup",
    "NotFoundError",
    "OrderLine",
    "OrderLineModifier",
    "PayBillResult",
    "PayloadError",
    "PaymentType",
    "Product",
    "RateLimitError",
    "RequestError",
    "RequestTimeoutError",
    "RetryPolicy",
    "Selection",
    "SendOrderResult",
    "ServerError",
    "SignatureError",
    "StaleResponseError",
    "SystemInfo",
    "Table",
    "TimeoutError",
    "TransportError",
    "decrypt",
    "default_jitter",
    "effective_key",
    "encrypt",
    "format_date",
    "format_money",
    "line_total",
    "no_jitter",
    "parse_money",
    "parse_product",
    "sign",
    "signature_matches",
]
