"""POS credentials, and their encryption at rest.

The signature key and the encryption token are stored together as one Fernet token
(`MultiFernet` over `settings.CREDENTIALS_ENCRYPTION_KEYS`: the first key encrypts, every key
decrypts). Decrypted values are registered with the log redaction filter and are never part
of a `repr`. The API only ever shows them masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from upvendo.logging import register_secret

MASK = "••••"
# Secrets shorter than this are masked completely: their last four would reveal too much.
MIN_LENGTH_TO_SHOW_TAIL = 12


class CredentialsDecryptionError(Exception):
    """Stored credentials cannot be decrypted with any configured key."""


@dataclass(frozen=True)
class Credentials:
    base_url: str
    signature_key: str = field(repr=False)
    encryption_token: str = field(repr=False)
    enable_encryption: bool

    def masked(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "signature_key": mask(self.signature_key),
            "encryption_token": mask(self.encryption_token),
            "enable_encryption": self.enable_encryption,
        }


def mask(secret: str) -> str:
    """'••••' followed by the last four characters (only when the secret is long enough)."""
    return MASK + secret[-4:] if len(secret) >= MIN_LENGTH_TO_SHOW_TAIL else MASK


@cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "CREDENTIALS_ENCRYPTION_KEYS is empty: POS credentials cannot be encrypted."
        )
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "CREDENTIALS_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from None


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.CREDENTIALS_ENCRYPTION_KEYS))


def encrypt_credentials(credentials: Credentials) -> dict[str, Any]:
    """The stored form: URL and flag in clear, both secrets in one Fernet token."""
    secrets = json.dumps(
        {
            "signature_key": credentials.signature_key,
            "encryption_token": credentials.encryption_token,
        }
    )
    return {
        "base_url": credentials.base_url,
        "enable_encryption": credentials.enable_encryption,
        "secrets": cipher().encrypt(secrets.encode()).decode(),
    }


def decrypt_credentials(stored: dict[str, Any]) -> Credentials:
    try:
        secrets = json.loads(cipher().decrypt(stored["secrets"].encode()))
    except InvalidToken:
        raise CredentialsDecryptionError(
            "The stored POS credentials cannot be decrypted with any key in "
            "CREDENTIALS_ENCRYPTION_KEYS; restore the old key or enter the credentials again."
        ) from None
    register_secret(secrets["signature_key"])
    register_secret(secrets["encryption_token"])
    return Credentials(
        base_url=stored["base_url"],
        signature_key=secrets["signature_key"],
        encryption_token=secrets["encryption_token"],
        enable_encryption=bool(stored["enable_encryption"]),
    )


def rotate_secrets(token: str) -> str:
    """Re-encrypt a stored secrets token with the first (current) key."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsDecryptionError(
            "Stored POS credentials cannot be decrypted with any key in "
            "CREDENTIALS_ENCRYPTION_KEYS."
        ) from None
