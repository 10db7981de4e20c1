"""The client's HTTP transport: every socket operation bounded by the current call's deadline.

httpx's timeouts bound each single read, so a register that trickles its answer (a byte
every few seconds) never trips them. :class:`KassanetClient` sets one wall-clock deadline
per call (:data:`CALL_DEADLINE`, a ``time.monotonic()`` value); :class:`DeadlineBackend`
wraps an httpcore network backend so that connecting, the TLS handshake and every read and
write of that call get at most the time left, and fail with ``httpcore.ReadTimeout`` (or
``ConnectTimeout``) once it has passed. That covers the status line and headers too, which
the client's own check between body chunks cannot see.

:func:`http_transport` builds the httpx transport on such a backend; an application passes
its own ``network_backend`` (for instance one that checks and pins the register's address)
and gets the deadline on top.
"""

from __future__ import annotations

import ssl
import time
import typing
from contextvars import ContextVar

import httpcore
import httpx

__all__ = ["CALL_DEADLINE", "DeadlineBackend", "http_transport", "remaining_time"]

CALL_DEADLINE: ContextVar[float | None] = ContextVar("kassanet_call_deadline", default=None)
"""The ``time.monotonic()`` moment at which the current call ends, or ``None`` (no call)."""


def remaining_time(timeout: float | None, *, connecting: bool = False) -> float | None:
    """``timeout`` shortened to the current call's time left; raises once none is left."""
    deadline = CALL_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        error = httpcore.ConnectTimeout if connecting else httpcore.ReadTimeout
        raise error("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, remaining_time(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, remaining_time(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, remaining_time(timeout, connecting=True)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Wrap ``backend`` (httpcore's plain sockets by default) with the call deadline."""

    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        self._backend = backend or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            remaining_time(timeout, connecting=True),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, remaining_time(timeout, connecting=True), socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    """httpx's own transport (request mapping, error mapping) on a pool with our backend.

    ``HTTPTransport`` has no way to choose the network backend, so this builds the same pool
    as httpx 0.28's ``HTTPTransport.__init__`` (no proxy) with one; every other method is
    httpx's and uses only ``self._pool``.
    """

    def __init__(
        self,
        network_backend: httpcore.NetworkBackend,
        verify: ssl.SSLContext | str | bool,
        limits: httpx.Limits,
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineBackend(network_backend),
        )


def http_transport(
    network_backend: httpcore.NetworkBackend | None = None,
    *,
    verify: ssl.SSLContext | str | bool = True,
    limits: httpx.Limits | None = None,
) -> httpx.BaseTransport:
    """An httpx transport whose sockets come from ``network_backend`` under the call deadline.

    Proxies from the environment are never used: the register is called directly.
    """
    return _Transport(
        network_backend or httpcore.SyncBackend(),
        verify,
        limits or httpx.Limits(max_connections=10, max_keepalive_connections=5),
    )
