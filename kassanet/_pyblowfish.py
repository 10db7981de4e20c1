"""A pure-Python Blowfish for keys of 57 to 72 bytes.

pycryptodome (and the ``cryptography`` package) accept Blowfish keys of 4 to 56 bytes, the
length Schneier's paper recommends. OpenSSL's ``BF_set_key`` uses up to 72 bytes (the size of
the P-array), and PHP passes tokens of up to 72 bytes to it unchanged. To stay byte-identical
for those tokens the library falls back to this implementation, which is correct but slow
(about a megabyte per second): fine for occasional long tokens, not something to choose.

The initial P-array and S-boxes are the hexadecimal digits of pi; they are computed once, on
first use, instead of being pasted in as 1,042 magic numbers.
"""

from __future__ import annotations

import struct
from functools import lru_cache

__all__ = ["PyBlowfish"]

_MASK = 0xFFFFFFFF
_TABLE_WORDS = 18 + 4 * 256
MAX_KEY_BYTES = 72


@lru_cache(maxsize=1)
def _pi_words() -> tuple[int, ...]:
    """The first 1,042 32-bit words of pi's fractional part (Machin's formula)."""
    bits = 32 * _TABLE_WORDS + 64
    one = 1 << bits

    def arctan_inv(x: int) -> int:
        total = term = one // x
        x2, n, sign = x * x, 1, 1
        while term:
            term //= x2
            n += 2
            sign = -sign
            total += sign * (term // n)
        return total

    pi = 16 * arctan_inv(5) - 4 * arctan_inv(239)
    fraction = (pi - 3 * one) >> 64
    return tuple((fraction >> (32 * (_TABLE_WORDS - 1 - i))) & _MASK for i in range(_TABLE_WORDS))


class PyBlowfish:
    """Blowfish with OpenSSL's key schedule (keys of 1 to 72 bytes), CBC helpers included."""

    def __init__(self, key: bytes) -> None:
        if not 1 <= len(key) <= MAX_KEY_BYTES:
            raise ValueError(f"Blowfish key must be 1 to {MAX_KEY_BYTES} bytes")
        words = _pi_words()
        self._p = list(words[:18])
        self._s = [list(words[18 + 256 * i : 18 + 256 * (i + 1)]) for i in range(4)]
        cycled = (key * (72 // len(key) + 1))[:72]
        for i, word in enumerate(struct.unpack(">18I", cycled)):
            self._p[i] ^= word
        left = right = 0
        for i in range(0, 18, 2):
            left, right = self._encrypt_block(left, right)
            self._p[i], self._p[i + 1] = left, right
        for box in self._s:
            for i in range(0, 256, 2):
                left, right = self._encrypt_block(left, right)
                box[i], box[i + 1] = left, right

    def _rounds(self, left: int, right: int, p: list[int]) -> tuple[int, int]:
        s0, s1, s2, s3 = self._s
        for i in range(0, 16, 2):
            left ^= p[i]
            right ^= (
                ((s0[left >> 24] + s1[(left >> 16) & 0xFF]) & _MASK) ^ s2[(left >> 8) & 0xFF]
            ) + s3[left & 0xFF] & _MASK
            right ^= p[i + 1]
            left ^= (
                ((s0[right >> 24] + s1[(right >> 16) & 0xFF]) & _MASK) ^ s2[(right >> 8) & 0xFF]
            ) + s3[right & 0xFF] & _MASK
        return right ^ p[17], left ^ p[16]

    def _encrypt_block(self, left: int, right: int) -> tuple[int, int]:
        return self._rounds(left, right, self._p)

    def encrypt_cbc(self, data: bytes, iv: bytes) -> bytes:
        """Encrypt block-aligned ``data`` in CBC mode."""
        words = struct.unpack(f">{len(data) // 4}I", data)
        prev_l, prev_r = struct.unpack(">2I", iv)
        out: list[int] = []
        p = self._p
        for i in range(0, len(words), 2):
            prev_l, prev_r = self._rounds(words[i] ^ prev_l, words[i + 1] ^ prev_r, p)
            out += (prev_l, prev_r)
        return struct.pack(f">{len(out)}I", *out)

    def decrypt_cbc(self, data: bytes, iv: bytes) -> bytes:
        """Decrypt block-aligned ``data`` in CBC mode."""
        words = struct.unpack(f">{len(data) // 4}I", data)
        prev_l, prev_r = struct.unpack(">2I", iv)
        reverse = self._p[::-1]
        out: list[int] = []
        for i in range(0, len(words), 2):
            left, right = self._rounds(words[i], words[i + 1], reverse)
            out += (left ^ prev_l, right ^ prev_r)
            prev_l, prev_r = words[i], words[i + 1]
        return struct.pack(f">{len(out)}I", *out)
