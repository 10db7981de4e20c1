"""Which URLs a vendor may register as an outgoing webhook.

`validate_webhook_url` is the ONE function the API calls: swap it for the production address
policy (the one that also guards register URLs) when that lands. For now: the register URL
rules of `integrations.validation.validate_pos_url` (absolute http(s), https unless the host
is in POS_INSECURE_HOSTS, no user info/query/fragment, no link-local, metadata or unspecified
address), and loopback / private addresses only in development and test.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

from integrations.validation import _literal_address, resolve_host, validate_pos_url

LOCAL_ENVIRONMENTS = frozenset({"development", "test"})


def validate_webhook_url(url: str) -> str:
    """The URL if a webhook may be sent to it; else ValueError saying what to fix."""
    try:
        validate_pos_url(url)
    except ValueError as error:
        raise ValueError(
            str(error).replace("it cannot be a POS", "it cannot receive webhooks")
        ) from None
    if settings.DJANGO_ENV in LOCAL_ENVIRONMENTS:
        return url
    host = (urlsplit(url).hostname or "").rstrip(".")
    literal = _literal_address(host)
    addresses = [str(literal)] if literal else (resolve_host(host) or [])
    if host == "localhost" or any(_is_internal(a) for a in addresses):
        raise ValueError(
            f"{host} is a loopback or private address; a webhook must go to a public host "
            "(loopback is allowed only in development)."
        )
    return url


def _is_internal(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private or address.is_reserved
