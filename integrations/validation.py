"""Rules for what a user may enter as POS credentials.

The Connection URL is fetched by the server, so it must not point at the server's own
networks (SSRF): the address rules are `integrations.network.AddressPolicy` (globally
routable addresses, plus `POS_ALLOWED_NETWORKS`). Literal addresses are checked as written
(including legacy forms such as `2852039166` that the resolver would accept); hostnames are
resolved with a short timeout and refused when any address is refused. A hostname that
cannot be resolved right now is accepted here: DNS being down must not block saving
credentials. This check only tells the user early; the rule is enforced where the
connection is made (`integrations.network.GuardedBackend`), which also defeats a name that
is re-pointed after it was saved (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from urllib.parse import urlsplit

from django.conf import settings

from integrations.network import AddressPolicy, is_metadata, policy_from_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
MAX_SECRET_LENGTH = 256
# OpenSSL's BF_set_key uses at most 72 key bytes and silently ignores the rest (kassanet._crypto).
MAX_ENCRYPTION_TOKEN_BYTES = 72
DNS_TIMEOUT_SECONDS = 1.0
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog"})

_resolver_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pos-url-dns")


def resolve_host(host: str, timeout: float = DNS_TIMEOUT_SECONDS) -> list[str] | None:
    """The addresses `host` resolves to, or None when DNS does not answer in time."""

    def lookup() -> list[str]:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        return [str(info[4][0]) for info in infos]

    try:
        return _resolver_pool.submit(lookup).result(timeout=timeout)
    except (OSError, UnicodeError, FutureTimeoutError):
        return None


def _literal_address(host: str) -> IPAddress | None:
    """The address a literal host denotes, including inet_aton forms ('0x7f.1', '2852039166')."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def forbidden_reason(address: IPAddress, policy: AddressPolicy | None = None) -> str | None:
    return (policy or policy_from_settings()).refusal(address)


def check_addresses(
    host: str, addresses: Iterable[str], policy: AddressPolicy | None = None
) -> None:
    policy = policy or policy_from_settings()
    refused = []
    for text in addresses:
        address = _literal_address(text)
        reason = "is not an IP address" if address is None else policy.refusal(address)
        if reason:
            refused.append((address is not None and is_metadata(address), text, reason))
    if refused:
        # The most telling reason first: a metadata address is the classic SSRF target.
        _, text, reason = max(refused, key=lambda entry: entry[0])
        raise ValueError(f"{host} resolves to {text}, which {reason}; it cannot be a POS.")


def validate_pos_url(url: str, resolve: Callable[[str], list[str] | None] | None = None) -> str:
    """Return the URL if it may be used as a Connection URL; else ValueError saying why."""
    resolve = resolve or resolve_host
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("Enter a valid URL, e.g. https://pos.example.be/kassanet/.") from None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("Enter an absolute http(s) URL, e.g. https://pos.example.be/kassanet/.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Do not put a user name or password in the URL.")
    if parts.fragment or parts.query:
        raise ValueError("The URL must not have a query string or a fragment.")
    if port == 0:
        raise ValueError("Port 0 is not a valid port.")
    insecure_hosts = {h.lower() for h in settings.POS_INSECURE_HOSTS}
    if parts.scheme == "http" and host not in insecure_hosts:
        raise ValueError("Use https: plain http is only allowed for local development hosts.")
    if host in METADATA_HOSTS:
        raise ValueError(f"{host} is a cloud metadata service; it cannot be a POS.")
    policy = policy_from_settings()
    address = _literal_address(host)
    if address is not None:
        reason = policy.refusal(address)
        if reason:
            raise ValueError(f"{host} {reason}; it cannot be a POS.")
        return url
    resolved = resolve(host)
    if resolved:
        check_addresses(host, resolved, policy)
    return url


def validate_encryption_token(token: str) -> str:
    if len(token.encode()) > MAX_ENCRYPTION_TOKEN_BYTES:
        raise ValueError(
            f"The encryption token may be at most {MAX_ENCRYPTION_TOKEN_BYTES} bytes: "
            "Blowfish ignores anything longer, so a longer token cannot be what the register uses."
        )
    return token
