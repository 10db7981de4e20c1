"""Which addresses a register may have, checked where the connection is made.

The Connection URL is fetched by the server, so a user (or whoever controls the register's
DNS) could point it at the server's own network (SSRF). The save-time check
(`integrations.validation`) cannot stop a name that is re-pointed afterwards (DNS
rebinding), so every connection goes through `GuardedBackend`: it resolves the name once,
refuses the connection unless every address is allowed, and connects to the address it
checked. TLS still verifies the certificate against the URL's name (httpcore sends the
name as SNI and checks it), and the Host header stays the name.

Allowed is a globally routable unicast address, or one inside `POS_ALLOWED_NETWORKS`
(development and test: loopback, so the simulator works; production: none unless the
deployment names its on-premises networks). Refused, whatever `is_global` says on this
Python: loopback, RFC 1918, CGNAT 100.64/10, link-local, ULA, multicast, reserved and
documentation ranges, NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16), Teredo,
IPv4-mapped and IPv4-compatible IPv6, the unspecified address, and names that do not
resolve. The cloud metadata addresses are refused even inside an allowed network.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import time
import typing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass

import httpcore
import httpx
from django.conf import settings

import kassanet

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int, float | None], Sequence[str]]
"""``resolve(host, port, timeout)``: the addresses of ``host``; raises OSError when none."""

DNS_TIMEOUT_SECONDS = 5.0
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)

_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/32", "is an unspecified address"),
    ("0.0.0.0/8", "is a 'this network' address"),
    ("10.0.0.0/8", "is a private address (RFC 1918)"),
    ("100.64.0.0/10", "is a carrier-grade NAT address (RFC 6598)"),
    ("127.0.0.0/8", "is a loopback address"),
    ("169.254.0.0/16", "is a link-local address"),
    ("172.16.0.0/12", "is a private address (RFC 1918)"),
    ("192.0.0.0/24", "is an IETF protocol address"),
    ("192.0.2.0/24", "is a documentation address"),
    ("192.88.99.0/24", "is a 6to4 relay address"),
    ("192.168.0.0/16", "is a private address (RFC 1918)"),
    ("198.18.0.0/15", "is a benchmarking address"),
    ("198.51.100.0/24", "is a documentation address"),
    ("203.0.113.0/24", "is a documentation address"),
    ("224.0.0.0/4", "is a multicast address"),
    ("240.0.0.0/4", "is a reserved address"),
    ("::/128", "is the unspecified address"),
    ("::1/128", "is a loopback address"),
    ("::ffff:0:0/96", "is an IPv4-mapped address"),
    ("::/96", "is an IPv4-compatible address"),
    ("64:ff9b::/96", "is a NAT64 address"),
    ("64:ff9b:1::/48", "is a local NAT64 address"),
    ("100::/64", "is a discard-only address"),
    ("2001::/32", "is a Teredo address"),
    ("2001:db8::/32", "is a documentation address"),
    ("2002::/16", "is a 6to4 address"),
    ("fc00::/7", "is a unique local address"),
    ("fe80::/10", "is a link-local address"),
    ("fec0::/10", "is a site-local address"),
    ("ff00::/8", "is a multicast address"),
)
REFUSED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason) for cidr, reason in _REFUSED
)


def is_metadata(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped in METADATA_ADDRESSES
    return address in METADATA_ADDRESSES


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (an IPv6 zone id dropped), or None when it is a name."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class AddressPolicy:
    """Globally routable addresses, plus those in ``allowed_networks``."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> AddressPolicy:
        """From CIDR strings (``POS_ALLOWED_NETWORKS``); ValueError names a bad one."""
        networks = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{cidr!r} is not a network in CIDR form (10.20.0.0/16)") from None
        return cls(tuple(networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why a register may not be at ``address``, or None when it may."""
        if is_metadata(address):
            return "is a cloud metadata address"
        if any(address in network for network in self.allowed_networks):
            return None
        for network, reason in REFUSED_NETWORKS:
            if address in network:
                return reason
        if not address.is_global:
            return "is not a globally routable address"
        return None


def policy_from_settings() -> AddressPolicy:
    return AddressPolicy.from_cidrs(settings.POS_ALLOWED_NETWORKS)


_resolver_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pos-dns")


def system_resolver(host: str, port: int, timeout: float | None) -> list[str]:
    """The system resolver (getaddrinfo), given at most ``timeout`` seconds."""

    def lookup() -> list[str]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    limit = DNS_TIMEOUT_SECONDS if timeout is None else min(timeout, DNS_TIMEOUT_SECONDS)
    try:
        return _resolver_pool.submit(lookup).result(timeout=limit)
    except FutureTimeoutError:
        raise OSError(f"DNS did not answer within {limit:g} s") from None
    except UnicodeError as error:
        raise OSError(f"not a valid host name ({error})") from None


class RefusedAddressError(httpcore.ConnectError):
    """The register's address is not allowed; no connection was made."""


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address with ``policy``, connect to a checked one.

    The name is resolved once per connection by ``resolve`` (the system resolver by
    default); the socket is opened to the checked address itself, never to the name, so a
    second answer from DNS cannot change where it goes. ``backend`` opens the sockets.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        resolve: Resolver | None = None,
        backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolve or system_resolver
        self._backend = backend or httpcore.SyncBackend()

    def checked_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses to connect to; raises RefusedAddressError (logged) otherwise."""
        literal = parse_address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(self._resolve(host, port, timeout))
            except OSError as error:
                raise self._refuse(host, f"does not resolve ({error})") from None
            if not addresses:
                raise self._refuse(host, "does not resolve (no address)")
        for text in addresses:
            address = parse_address(text)
            reason = "is not an IP address" if address is None else self._policy.refusal(address)
            if reason is not None:
                where = host if text == host else f"{host} resolves to {text}, which"
                raise self._refuse(host, f"{where} {reason}")
        return addresses

    def _refuse(self, host: str, detail: str) -> RefusedAddressError:
        message = f"refused to connect to {host}: {detail}"
        logger.warning("POS connection %s", message)
        return RefusedAddressError(message)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        started = time.monotonic()
        addresses = self.checked_addresses(host, port, timeout)
        last: Exception | None = None
        for address in addresses:
            # All addresses together get the one connect timeout (DNS included).
            left = None if timeout is None else timeout - (time.monotonic() - started)
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout(f"no address of {host} answered in time")
            try:
                return self._backend.connect_tcp(
                    address,
                    port,
                    left,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as error:
                last = error
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise RefusedAddressError("a register is never reached through a Unix socket")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def guarded_transport(
    policy: AddressPolicy | None = None,
    resolve: Resolver | None = None,
    *,
    verify: ssl.SSLContext | bool | str = True,
) -> httpx.BaseTransport:
    """The transport every register client uses: address checked and pinned, call deadline."""
    backend = GuardedBackend(policy or policy_from_settings(), resolve)
    return kassanet.http_transport(backend, verify=verify)
