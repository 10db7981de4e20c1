"""Bounded paging parameters of the list endpoints (``limit``/``offset``, ``page``/``page_size``).

Every paging number has an upper bound, so a huge value is a 400 that names the allowed range
instead of an overflow in MongoDB's ``skip`` (a 500) or a scan of the whole collection.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# Deepest menu record a page may start at (limit/offset), and the last order page.
MAX_OFFSET = 100_000
MAX_PAGE = 10_000


def bounded_integer(
    lowest: int, highest: int, default: int, **kwargs: Any
) -> serializers.IntegerField:
    """An integer query parameter in ``lowest..highest``; out of range: "Must be between ..."."""
    message = f"Must be between {lowest} and {highest}."
    return serializers.IntegerField(
        min_value=lowest,
        max_value=highest,
        default=default,
        error_messages={"min_value": message, "max_value": message},
        **kwargs,
    )
