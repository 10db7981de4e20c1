"""Body encoding shared by the client and the simulator (protocol page, sections 2 and 4)."""

from __future__ import annotations

import json
from typing import Any

from kassanet._crypto import DECRYPTION_HINT, decrypt, encrypt
from kassanet._exceptions import BlowfishDecryptionError, PayloadError

__all__ = ["decode_body", "encode_body", "error_payload", "parse_error_payload"]


def encode_body(payload: Any, *, encrypted: bool, token: str | bytes) -> bytes:
    """Serialise ``payload`` as compact UTF-8 JSON, encrypted to base64 when ``encrypted``."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return encrypt(text, token).encode("ascii") if encrypted else text


def decode_body(body: bytes, *, encrypted: bool, token: str | bytes) -> Any:
    """Decode a wire body to JSON; the inverse of :func:`encode_body`.

    Encrypted: :class:`~kassanet.InvalidBase64Error` or
    :class:`~kassanet.BlowfishDecryptionError` (also when the plaintext is not JSON).
    Plain: :class:`~kassanet.PayloadError` when the body is not JSON.
    """
    plaintext = decrypt(body, token) if encrypted else body
    try:
        return json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        if encrypted:
            raise BlowfishDecryptionError(DECRYPTION_HINT) from None
        snippet = plaintext[:60].decode("utf-8", "replace")
        raise PayloadError(
            f"The register's answer is not JSON (starts with {snippet!r}); if encryption is on "
            "at the register, turn the encryption flag on here"
        ) from None


def error_payload(code: str, message: str) -> dict[str, Any]:
    """The error body of section 4: ``{"error": {"code": ..., "message": ...}}``."""
    return {"error": {"code": code, "message": message}}


def parse_error_payload(payload: Any) -> tuple[str | None, str | None]:
    """Extract ``(code, message)`` from an error body, tolerating other shapes."""
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        code, message = error.get("code"), error.get("message")
        return (
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else None,
        )
    return None, None
