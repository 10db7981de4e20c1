"""Blowfish-CBC body encryption, byte-identical to PHP's ``openssl_encrypt``.

The original platform encrypted bodies with::

    openssl_encrypt($json, 'bf-cbc', $token, 0, "\\0\\0\\0\\0\\0\\0\\0\\0")

What PHP and OpenSSL do with the token (established with PHP 8.2 on OpenSSL 3.0 and pinned by
``tests/kassanet/fixtures/php_vectors.json``):

* shorter than 16 bytes (Blowfish's default key length in OpenSSL), including the empty
  token: PHP zero-pads it to 16 bytes. Blowfish repeats a short key cyclically, so
  ``"abc"`` and ``"abc\\0...\\0"`` are different keys; the padding matters.
* 16 to 72 bytes: used as is (PHP sets the context's key length to the token's length).
* longer than 72 bytes: OpenSSL's ``BF_set_key`` silently uses the first 72 bytes only.

Options ``0`` mean: PKCS#7 padding, and the ciphertext is standard base64 with padding.
"""

from __future__ import annotations

import base64
import binascii

from Crypto.Cipher import Blowfish
from Crypto.Util.Padding import pad

from kassanet._exceptions import BlowfishDecryptionError, InvalidBase64Error
from kassanet._pyblowfish import PyBlowfish

__all__ = [
    "BLOWFISH_DEFAULT_KEY_BYTES",
    "BLOWFISH_MAX_KEY_BYTES",
    "decrypt",
    "effective_key",
    "encrypt",
]

BLOWFISH_DEFAULT_KEY_BYTES = 16
BLOWFISH_MAX_KEY_BYTES = 72
_PYCRYPTODOME_MAX_KEY_BYTES = 56
_IV = bytes(8)
_BLOCK = 8

INVALID_BASE64_HINT = (
    "Invalid base64 input: the register's answer is not encrypted while encryption is on here; "
    "check that the encryption flag matches the register's"
)
DECRYPTION_HINT = (
    "Blowfish decryption error: the encryption token does not match the register's "
    "(or encryption is off on the register)"
)


def _key_bytes(token: str | bytes) -> bytes:
    return token.encode("utf-8") if isinstance(token, str) else bytes(token)


def effective_key(token: str | bytes) -> bytes:
    """The key bytes PHP/OpenSSL actually use for ``token`` (see the module docstring)."""
    key = _key_bytes(token)
    if len(key) < BLOWFISH_DEFAULT_KEY_BYTES:
        return key.ljust(BLOWFISH_DEFAULT_KEY_BYTES, b"\0")
    return key[:BLOWFISH_MAX_KEY_BYTES]


def _encrypt_raw(key: bytes, data: bytes) -> bytes:
    if len(key) <= _PYCRYPTODOME_MAX_KEY_BYTES:
        return Blowfish.new(key, Blowfish.MODE_CBC, iv=_IV).encrypt(data)  # noqa: S304 - protocol
    return PyBlowfish(key).encrypt_cbc(data, _IV)


def _decrypt_raw(key: bytes, data: bytes) -> bytes:
    if len(key) <= _PYCRYPTODOME_MAX_KEY_BYTES:
        return Blowfish.new(key, Blowfish.MODE_CBC, iv=_IV).decrypt(data)  # noqa: S304 - protocol
    return PyBlowfish(key).decrypt_cbc(data, _IV)


def encrypt(plaintext: bytes, token: str | bytes) -> str:
    """Encrypt ``plaintext`` like PHP's ``openssl_encrypt`` and return the base64 wire form."""
    ciphertext = _encrypt_raw(effective_key(token), pad(plaintext, _BLOCK))
    return base64.b64encode(ciphertext).decode("ascii")


def decrypt(body: str | bytes, token: str | bytes) -> bytes:
    """Decrypt a base64 wire body like PHP's ``openssl_decrypt``.

    Raises :class:`InvalidBase64Error` when ``body`` is not standard base64 and
    :class:`BlowfishDecryptionError` when the plaintext's PKCS#7 padding is wrong, which in
    practice means the token differs from the one that encrypted the body.
    """
    try:
        raw = body.encode("ascii") if isinstance(body, str) else bytes(body)
        ciphertext = base64.b64decode(raw.strip(), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidBase64Error(INVALID_BASE64_HINT) from None
    if not ciphertext or len(ciphertext) % _BLOCK:
        raise BlowfishDecryptionError(DECRYPTION_HINT)
    padded = _decrypt_raw(effective_key(token), ciphertext)
    pad_len = padded[-1]
    if not 1 <= pad_len <= _BLOCK or padded[-pad_len:] != bytes([pad_len]) * pad_len:
        raise BlowfishDecryptionError(DECRYPTION_HINT)
    return padded[:-pad_len]
