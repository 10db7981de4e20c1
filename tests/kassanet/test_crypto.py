"""Blowfish body encryption, pinned byte-for-byte to vectors produced by real PHP."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from Crypto.Cipher import Blowfish
from hypothesis import given, settings
from hypothesis import strategies as st

from kassanet import BlowfishDecryptionError, InvalidBase64Error, sign
from kassanet._crypto import decrypt, effective_key, encrypt
from kassanet._pyblowfish import PyBlowfish

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "php_vectors.json").read_text()
)
ENCRYPTION = VECTORS["encryption"]
SIGNATURES = VECTORS["signatures"]


def _vector_id(vector: dict[str, Any]) -> str:
    return f"{vector['key_name']}-{vector['body_name']}"


def test_vectors_cover_every_key_length_class() -> None:
    lengths = {v["key_length"] for v in ENCRYPTION}
    assert {0, 1, 5, 16, 30, 56, 57, 64, 72, 73, 100} <= lengths
    assert any(bytes.fromhex(v["key_hex"]).decode() != v["key_hex"] for v in ENCRYPTION)


@pytest.mark.parametrize("vector", ENCRYPTION, ids=_vector_id)
def test_encrypt_matches_php_openssl_encrypt(vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["key_hex"])
    assert encrypt(bytes.fromhex(vector["plaintext_hex"]), key) == vector["ciphertext_b64"]


@pytest.mark.parametrize("vector", ENCRYPTION, ids=_vector_id)
def test_decrypt_matches_php_openssl_decrypt(vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["key_hex"])
    assert decrypt(vector["ciphertext_b64"], key) == bytes.fromhex(vector["plaintext_hex"])


def test_str_token_is_used_as_utf8() -> None:
    vector = next(v for v in ENCRYPTION if v["key_name"] == "non_ascii_utf8")
    token = bytes.fromhex(vector["key_hex"]).decode("utf-8")
    assert encrypt(bytes.fromhex(vector["plaintext_hex"]), token) == vector["ciphertext_b64"]


@pytest.mark.parametrize("vector", SIGNATURES, ids=lambda v: f"{v['key_name']}-{v['body_name']}")
def test_signature_matches_php_hash_hmac(vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["key_hex"]).decode("utf-8")
    assert sign(key, vector["date"], bytes.fromhex(vector["body_hex"])) == vector["signature"]


def test_short_keys_are_zero_padded_to_sixteen_bytes() -> None:
    assert effective_key("abc") == b"abc" + bytes(13)
    assert effective_key("") == bytes(16)


def test_keys_beyond_72_bytes_are_truncated_like_openssl() -> None:
    token = "x" * 40 + "y" * 60
    assert effective_key(token) == token.encode()[:72]
    assert encrypt(b"{}", token) == encrypt(b"{}", token[:72])


def test_decrypt_rejects_non_base64_with_actionable_message() -> None:
    with pytest.raises(InvalidBase64Error) as excinfo:
        decrypt('{"products": []}', "token")
    assert str(excinfo.value).startswith("Invalid base64 input")
    assert "encryption flag" in str(excinfo.value)


def test_decrypt_with_wrong_token_says_token_does_not_match() -> None:
    body = encrypt(b'{"status":"ok"}', "right-token")
    with pytest.raises(BlowfishDecryptionError) as excinfo:
        decrypt(body, "wrong-token")
    message = str(excinfo.value)
    assert message.startswith("Blowfish decryption error")
    assert "encryption token does not match" in message
    assert "right-token" not in message and "wrong-token" not in message


@pytest.mark.parametrize("body", ["", "QUJD", "QUJDREVGRw=="])
def test_decrypt_rejects_ciphertext_that_is_not_whole_blocks(body: str) -> None:
    with pytest.raises(BlowfishDecryptionError):
        decrypt(body, "token")


@settings(max_examples=40, deadline=None)
@given(key=st.binary(min_size=4, max_size=56), data=st.binary(max_size=64))
def test_pure_python_blowfish_agrees_with_pycryptodome(key: bytes, data: bytes) -> None:
    padded = data + bytes(-len(data) % 8)
    expected = Blowfish.new(key, Blowfish.MODE_CBC, iv=bytes(8)).encrypt(padded)
    cipher = PyBlowfish(key)
    assert cipher.encrypt_cbc(padded, bytes(8)) == expected
    assert cipher.decrypt_cbc(expected, bytes(8)) == padded


@settings(max_examples=30, deadline=None)
@given(token=st.text(max_size=90), data=st.binary(max_size=100))
def test_round_trip_for_any_token(token: str, data: bytes) -> None:
    assert decrypt(encrypt(data, token), token) == data


def test_hmac_helper_is_plain_hmac_sha256() -> None:
    expected = hmac.new(b"key", b"2026-11-26T19:33:10+00:00{}", hashlib.sha256).hexdigest()
    assert sign("key", "2026-11-26T19:33:10+00:00", b"{}") == expected
