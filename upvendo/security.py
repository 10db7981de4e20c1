"""Web hardening helpers: the client address and the API throttles (docs/security.md).

The client address is the connection's peer (``REMOTE_ADDR``), or, when
``DJANGO_NUM_PROXIES`` is set, the address the outermost of those proxies saw in
``X-Forwarded-For``; a header a client sent itself is never trusted otherwise. The login lockout
(django-axes) and the throttles use the same address.

Each throttle reads its rate from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` when a request
comes in (DRF reads it once, at import), so tests and deployments can change it; a rate of
``off`` (or empty) turns that throttle off.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

OFF = {"", "off", "none"}
logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as the throttles see it (see the module's docstring)."""
    ident = BaseThrottle().get_ident(request)  # reads META and headers, as on a DRF request
    return str(ident) if ident else None


class _RateFromSettings(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if rate is None or str(rate).strip().lower() in OFF:
            return None
        return str(rate)

    def allow_request(self, request: Any, view: Any) -> bool:
        # The counters are in the cache (Redis in production). Without it the API keeps
        # answering, unthrottled, rather than failing every request with a 500.
        try:
            return bool(super().allow_request(request, view))
        except (RedisError, OSError) as error:
            logger.warning(
                "API throttle skipped: the cache is unavailable (%s)", type(error).__name__
            )
            return True


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Requests without credentials, per client address (``API_THROTTLE_ANON``)."""


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Authenticated requests, per user (``API_THROTTLE_USER``)."""


class ScopedThrottle(_RateFromSettings, ScopedRateThrottle):
    """Views with a ``throttle_scope`` of their own, per user or address (e.g. the connection
    test); ScopedRateThrottle asks get_rate() when the view is known."""
