"""A register cannot make the client hold too much or wait too long (real local servers)."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kassanet import (
    UNREACHABLE,
    DeadlineExceededError,
    KassanetClient,
    Limits,
    PayloadError,
    RequestError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    SignatureError,
    StaleResponseError,
    TooManyItemsError,
    no_jitter,
)
from kassanet import ConnectError as KassanetConnectError
from tests.kassanet.raw_server import (
    Handler,
    RawServer,
    answer,
    raw_server,
    signed_head,
    trickle,
)

KEY = "register-signature-key"
TOKEN = "register-encryption-token"
ONCE = RetryPolicy(max_attempts=1)


def client(url: str, **options: Any) -> KassanetClient:
    options.setdefault("retry", ONCE)
    return KassanetClient(url, KEY, TOKEN, False, **options)


@contextlib.contextmanager
def register(handler: Handler, **options: Any) -> Iterator[tuple[RawServer, KassanetClient]]:
    """A scripted register on loopback and a client for it."""
    with raw_server(handler) as server, client(server.url(), **options) as c:
        yield server, c


def system_body(padding: int = 0) -> bytes:
    """A `test` answer; `padding` characters of filler make it as long as a test needs."""
    return json.dumps({"status": "ok", "system": {"name": "K"}, "pad": "x" * padding}).encode()


# -- size ------------------------------------------------------------------------------------


def test_an_answer_of_exactly_the_limit_is_read() -> None:
    body = system_body(1000)
    with register(answer(KEY, body), limits=Limits(max_response_bytes=len(body))) as (_, c):
        assert c.test().name == "K"


def test_an_answer_one_byte_over_the_limit_is_refused_while_it_streams() -> None:
    body = system_body(1000)
    # No Content-Length: the body ends when the server closes, so only counting can stop it.
    limits = Limits(max_response_bytes=len(body) - 1)
    with (
        register(answer(KEY, body, length=False), limits=limits) as (server, c),
        pytest.raises(ResponseTooLargeError) as refused,
    ):
        c.test()
    assert refused.value.message == (
        f"Kassanet test: the register's answer is larger than the {len(body) - 1:,} bytes this "
        "service accepts"
    )
    assert not refused.value.retryable
    assert len(server.connections) == 1


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body() -> None:
    def announce_a_huge_body(conn: socket.socket, head: bytes) -> None:
        conn.sendall(signed_head(KEY, b"", extra={"Content-Length": str(10**9)}, length=False))
        time.sleep(5)  # the body never comes: a client that waited for it would hang here

    with register(announce_a_huge_body, limits=Limits(max_response_bytes=1_000_000)) as (_, c):
        started = time.monotonic()
        with pytest.raises(ResponseTooLargeError):
            c.test()
    assert time.monotonic() - started < 2


def test_a_compressed_answer_is_counted_after_decompression() -> None:
    body = system_body(2_000_000)  # about 2 MB of JSON ...
    compressed = gzip.compress(body)
    assert len(compressed) < 10_000  # ... that travels as a few kilobytes
    handler = answer(
        KEY, compressed, signed_body=body, extra={"Content-Encoding": "gzip"}, length=True
    )
    with (
        register(handler, limits=Limits(max_response_bytes=1_000_000)) as (_, small),
        pytest.raises(ResponseTooLargeError),
    ):
        small.test()
    # Within the limit, the signature is checked over the decompressed bytes and holds.
    with register(handler, limits=Limits(max_response_bytes=len(body))) as (_, large):
        assert large.test().name == "K"


def test_an_encoding_the_client_did_not_ask_for_is_refused() -> None:
    body = system_body()
    with (
        register(answer(KEY, body, extra={"Content-Encoding": "br"})) as (server, c),
        pytest.raises(PayloadError) as refused,
    ):
        c.test()
    assert "content encoding 'br'" in refused.value.message
    assert b"accept-encoding: gzip, deflate" in server.requests[0].lower()


# -- authenticity over a real connection ---------------------------------------------------------


def test_an_unsigned_answer_from_a_real_server_is_refused() -> None:
    body = system_body()

    def unsigned(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    with register(unsigned) as (_, c), pytest.raises(SignatureError) as refused:
        c.test()
    assert refused.value.message.startswith("The register's answer is not signed")


def test_a_stale_answer_from_a_real_server_is_refused() -> None:
    old = datetime.now(UTC) - timedelta(seconds=301)
    with (
        register(answer(KEY, system_body(), when=old)) as (_, c),
        pytest.raises(StaleResponseError),
    ):
        c.test()


# -- one deadline per call ---------------------------------------------------------------------


def test_a_register_that_trickles_its_body_is_cut_at_the_deadline() -> None:
    body = system_body(200)

    def headers_then_a_byte_at_a_time(conn: socket.socket, head: bytes) -> None:
        conn.sendall(signed_head(KEY, body))
        trickle(body, every=0.1)(conn, head)  # 20 s in all; no single read waits > 0.1 s

    with register(headers_then_a_byte_at_a_time, timeout=5.0, deadline=1.0) as (_, c):
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as cut:
            c.test()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.8
    assert cut.value.message == (
        "Kassanet test did not finish within its deadline (1 s); the register is slow, or it "
        "trickles its answer"
    )


def test_a_register_that_trickles_its_status_line_and_headers_is_cut_at_the_deadline() -> None:
    body = system_body()
    handler = trickle(signed_head(KEY, body) + body, every=0.1)
    with register(handler, timeout=5.0, deadline=1.0) as (_, c):
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            c.test()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.8


def test_the_deadline_bounds_all_attempts_of_a_call() -> None:
    def unavailable(conn: socket.socket, head: bytes) -> None:
        answer(KEY, b'{"error": {"code": "BUSY"}}', status="503 Service Unavailable")(conn, head)

    retry = RetryPolicy(max_attempts=20, initial_delay=0.3, max_delay=0.3, jitter=no_jitter)
    with register(unavailable, retry=retry, deadline=1.0) as (server, c):
        started = time.monotonic()
        with pytest.raises(ServerError):
            c.test()
        elapsed = time.monotonic() - started
    # Attempts at about 0, 0.3, 0.6 and 0.9 s; a fifth would start after the deadline.
    assert elapsed < 1.3
    assert 3 <= len(server.connections) <= 4


def test_total_deadline_ends_every_call_of_the_client() -> None:
    body = system_body()

    def slow(conn: socket.socket, head: bytes) -> None:
        time.sleep(0.6)
        answer(KEY, body)(conn, head)

    with register(slow, deadline=30.0, total_deadline=1.0) as (_, c):
        started = time.monotonic()
        c.test()  # 0.6 s
        with pytest.raises(DeadlineExceededError):
            c.test()  # would end at 1.2 s
        assert time.monotonic() - started < 1.5


# -- lists -------------------------------------------------------------------------------------


def list_body(key: str, items: list[Any]) -> bytes:
    return json.dumps({key: items}).encode()


def product(index: int) -> dict[str, Any]:
    return {"id": f"P{index}", "name": f"Product {index}", "price": "1.00", "kitchen": "Bar"}


def test_products_beyond_the_limit_are_refused_and_up_to_it_are_read() -> None:
    three = list_body("products", [product(i) for i in range(3)])
    four = list_body("products", [product(i) for i in range(4)])
    limits = Limits(max_products=3)
    with register(answer(KEY, three), limits=limits) as (_, c):
        assert len(c.get_all_products_raw()) == 3
    with (
        register(answer(KEY, four), limits=limits) as (_, c),
        pytest.raises(TooManyItemsError) as refused,
    ):
        c.get_all_products_raw()
    assert refused.value.message == (
        "GetAllProducts: the register sent 4 products, more than the 3 this service accepts; "
        "remove unused ones in the register, or ask the operator to raise the limit"
    )


def test_selections_and_their_products_beyond_the_limits_are_refused() -> None:
    def selection(index: int, products: int) -> dict[str, Any]:
        ids = [f"P{i}" for i in range(products)]
        return {"id": f"S{index}", "name": f"Sel {index}", "sort": index, "product_ids": ids}

    limits = Limits(max_selections=2, max_products=3)
    too_many = list_body("selections", [selection(i, 1) for i in range(3)])
    too_long = list_body("selections", [selection(0, 4)])
    with (
        register(answer(KEY, too_many), limits=limits) as (_, c),
        pytest.raises(TooManyItemsError, match="sent 3 selections, more than the 2"),
    ):
        c.get_product_selection()
    with (
        register(answer(KEY, too_long), limits=limits) as (_, c),
        pytest.raises(TooManyItemsError) as refused,
    ):
        c.get_product_selection()
    assert refused.value.message == (
        "GetProductSelection: selection 'Sel 0' lists 4 products, more than the 3 this "
        "service accepts"
    )


def test_tables_beyond_the_limit_are_refused() -> None:
    tables = list_body("tables", [{"number": n} for n in range(1, 7)])
    with (
        register(answer(KEY, tables), limits=Limits(max_tables=5)) as (_, c),
        pytest.raises(TooManyItemsError, match="sent 6 tables, more than the 5"),
    ):
        c.table_numbers()


# -- the register's words ------------------------------------------------------------------------


def test_the_registers_error_message_and_code_are_truncated() -> None:
    error = {"error": {"code": "C" * 500, "message": "m" * 100_000}}
    handler = answer(KEY, json.dumps(error).encode(), status="422 Unprocessable Entity")
    limits = Limits(max_message_chars=50, max_code_chars=10)
    with register(handler, limits=limits) as (_, c), pytest.raises(RequestError) as refused:
        c.test()
    code = "C" * 9 + "…"
    assert refused.value.code == code
    assert refused.value.message == (f"Kassanet test failed with HTTP 422 ({code}: {'m' * 49}…)")


def test_a_huge_malformed_value_is_shown_shortly() -> None:
    body = list_body("products", [{"id": "P1", "name": "x", "price": ["9" * 10_000] * 1000}])
    with register(answer(KEY, body)) as (_, c), pytest.raises(PayloadError) as refused:
        c.get_all_products()
    assert refused.value.message.startswith("products[0].price: expected a money string")
    assert len(refused.value.message) < 400


def test_a_connection_failure_tells_the_user_only_that_the_address_was_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with raw_server(answer(KEY, b"")) as server:
        url = server.url()
    # The server is gone: nothing listens on its port any more.
    with client(url) as c, pytest.raises(KassanetConnectError) as refused:
        c.test()
    assert refused.value.message == (
        f"{UNREACHABLE} (Kassanet test); check the connection URL and that the register is online"
    )
    assert "Connection refused" in caplog.text  # the errno is in the server log
