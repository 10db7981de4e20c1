"""A real TCP server on loopback that answers with exactly the bytes a test scripts.

A misbehaving register (trickling, oversized, compressed, signed or not) is easier to write
as raw HTTP/1.1 than through http.server; each accepted connection is recorded.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kassanet import format_date, sign

Handler = Callable[[socket.socket, bytes], None]
"""``handler(connection, request_head)``: write the answer (the request head is read)."""


@dataclass
class RawServer:
    host: str
    port: int
    connections: list[str] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)

    def url(self, path: str = "/kassanet/", host: str | None = None) -> str:
        shown = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{shown}:{self.port}{path}"


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@contextlib.contextmanager
def raw_server(
    handler: Handler,
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
    port: int = 0,
) -> Iterator[RawServer]:
    """Serve ``handler`` on ``host`` and ``port`` (default: a free one) in a thread, one
    thread per connection. ``connections`` records the address each one was made to."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(16)
    listener.settimeout(0.2)
    server = RawServer(host, listener.getsockname()[1])
    stop = threading.Event()

    def serve(conn: socket.socket, peer: str) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
            with conn:
                head = _read_head(conn)
                server.requests.append(head)
                handler(conn, head)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.connections.append(conn.getsockname()[0])
            threading.Thread(target=serve, args=(conn, peer[0]), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def signed_head(
    key: str,
    body: bytes,
    *,
    status: str = "200 OK",
    extra: dict[str, str] | None = None,
    length: bool = True,
    signed_body: bytes | None = None,
    when: datetime | None = None,
) -> bytes:
    """A status line and headers for ``body``, signed with ``key`` over ``signed_body``."""
    date = format_date(when or datetime.now(UTC))
    headers = {
        "Content-Type": "application/json",
        "Date": date,
        "Signature": sign(key, date, body if signed_body is None else signed_body),
        "Connection": "close",
        **(extra or {}),
    }
    if length:
        headers["Content-Length"] = str(len(body))
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(key: str, body: bytes, **options: object) -> Handler:
    """A handler that sends one signed answer with ``body``."""

    def handle(conn: socket.socket, head: bytes) -> None:
        conn.sendall(signed_head(key, body, **options) + body)  # type: ignore[arg-type]

    return handle


def trickle(data: bytes, every: float) -> Handler:
    """A handler that sends ``data`` one byte every ``every`` seconds (until the peer leaves)."""

    def handle(conn: socket.socket, head: bytes) -> None:
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            time.sleep(every)

    return handle
