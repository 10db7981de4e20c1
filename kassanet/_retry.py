"""The client's retry policy: capped exponential backoff with jitter, bounded twice.

A call is retried only for a transient error (``error.retryable``: connect errors, timeouts,
dropped connections, 408, 429, 500, 502, 503, 504), at most ``max_attempts`` times in all
and only while the next attempt would still start within ``total_budget`` seconds of the
first. ``Retry-After`` on 429/503 replaces the computed delay (capped by ``max_retry_after``).
The random part lives in ``jitter`` so tests can pin it (like stripe-python's
``_add_jitter_time``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from kassanet._exceptions import KassanetError

__all__ = ["RetryPolicy", "default_jitter", "no_jitter"]


def default_jitter(delay: float) -> float:
    """Spread ``delay`` uniformly over ``[delay / 2, delay]``."""
    return delay * (0.5 + random.random() / 2)


def no_jitter(delay: float) -> float:
    """Keep ``delay`` as computed; for tests and for deterministic tools."""
    return delay


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries transient errors. ``RetryPolicy(max_attempts=1)`` disables it."""

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 8.0
    total_budget: float = 30.0
    max_retry_after: float = 30.0
    jitter: Callable[[float], float] = default_jitter

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.total_budget < 0:
            raise ValueError("delays and budget must not be negative")

    def backoff(self, attempt: int) -> float:
        """The delay after failed attempt number ``attempt`` (1-based), before jitter."""
        return min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))

    def next_delay(self, attempt: int, error: KassanetError, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up and raise ``error``.

        ``attempt`` is the number of attempts made so far; ``elapsed`` the seconds since the
        first one started.
        """
        if not error.retryable or attempt >= self.max_attempts:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            delay = min(float(retry_after), self.max_retry_after)
        else:
            delay = max(0.0, self.jitter(self.backoff(attempt)))
        if elapsed + delay > self.total_budget:
            return None
        return delay
