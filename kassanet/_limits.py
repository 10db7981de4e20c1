"""What one register may make the client hold: answer size, list lengths, text length."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_DEADLINE", "Limits", "truncate"]

DEFAULT_DEADLINE = 60.0
"""Seconds one call may take in all (every attempt, retry pause and byte of the answer)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what the client accepts from a register.

    ``max_response_bytes`` counts the body after decompression, while it streams in;
    ``max_products``, ``max_selections`` and ``max_tables`` bound the lists of
    ``GetAllProducts``, ``GetProductSelection`` (and each selection's ``product_ids``) and
    ``TableNumbers``; ``max_message_chars`` bounds the register's own words (an error
    answer's ``message``, the reason phrase) that end up in our error messages, and
    ``max_code_chars`` its error ``code``.
    """

    max_response_bytes: int = 64 * 1024 * 1024
    max_products: int = 50_000
    max_selections: int = 5_000
    max_tables: int = 5_000
    max_message_chars: int = 300
    max_code_chars: int = 64

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"
