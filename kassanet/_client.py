"""The Kassanet HTTP client: one method per endpoint of the protocol page."""

from __future__ import annotations

import logging
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from kassanet import _models as m
from kassanet._auth import (
    REQUEST_ID_HEADER,
    Clock,
    KassanetAuth,
    utc_now,
    verify_response_signature,
)
from kassanet._codec import decode_body, encode_body, parse_error_payload
from kassanet._exceptions import (
    ConnectError,
    CryptoError,
    DeadlineExceededError,
    KassanetError,
    PayloadError,
    ResponseTooLargeError,
    SignatureError,
    TimeoutError,
    TooManyItemsError,
    error_for_status,
)
from kassanet._limits import DEFAULT_DEADLINE, Limits, truncate
from kassanet._network import CALL_DEADLINE, http_transport
from kassanet._retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "UNREACHABLE", "KassanetClient"]

logger = logging.getLogger("kassanet")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
UNREACHABLE = "The register could not be reached at that address"
"""What a user is told when no connection could be made (refused address, DNS, TCP, TLS):
the errno and TLS detail go to the server log only."""
ACCEPT_ENCODING = "gzip, deflate"
T = TypeVar("T")


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


def _list_of(payload: Any, key: str, endpoint: str, limit: int | None = None) -> list[Any]:
    items = payload.get(key) if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        raise PayloadError(f"{endpoint}: expected an object with a {key!r} list")
    if limit is not None and len(items) > limit:
        raise TooManyItemsError(
            f"{endpoint}: the register sent {len(items):,} {key.replace('_', ' ')}, more than "
            f"the {limit:,} this service accepts; remove unused ones in the register, or ask "
            "the operator to raise the limit"
        )
    return items


class _TooLarge(Exception):
    pass


class _BoundedBody:
    """The body of an answer, decompressed as it streams in, refused past ``limit`` bytes.

    Decompression is bounded too (``max_length``), so a small compressed bomb never expands
    beyond the limit in memory. Only the encodings we ask for (``ACCEPT_ENCODING``) are read.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        encoding = content_encoding.strip().lower()
        self._limit = limit
        self._size = 0
        self._parts: list[bytes] = []
        self._raw_deflate_fallback = encoding == "deflate"
        if encoding in ("", "identity"):
            self._decompressor: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._decompressor = zlib.decompressobj()
        else:
            raise PayloadError(
                f"The register's answer uses the content encoding {truncate(encoding, 40)!r}, "
                f"which the client did not ask for (it accepts {ACCEPT_ENCODING})"
            )

    def feed(self, data: bytes) -> None:
        if self._decompressor is None:
            self._add(data)
            return
        while data:
            try:
                out = self._decompressor.decompress(data, self._limit - self._size + 1)
            except zlib.error:
                if not self._raw_deflate_fallback:
                    raise PayloadError("The register's compressed answer is corrupt") from None
                # "deflate" without the zlib wrapper, as some servers send it (httpx does too).
                self._raw_deflate_fallback = False
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_deflate_fallback = False
            self._add(out)
            data = self._decompressor.unconsumed_tail

    def finish(self) -> bytes:
        if self._decompressor is not None:
            self._add(self._decompressor.flush())
        return self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise _TooLarge
        if data:
            self._parts.append(data)


class KassanetClient:
    """A client for one Kassanet register.

    >>> with KassanetClient(url, signature_key, token, enable_encryption=True) as client:
    ...     products = client.get_all_products()

    Every call has an explicit timeout and is retried for transient errors following
    ``retry``. Errors are :class:`~kassanet.KassanetError` subclasses. ``transport`` lets tests
    plug in ``httpx.MockTransport`` or respx; ``clock`` returns the aware ``datetime`` used for
    ``Date`` headers and for checking the freshness of answers; ``sleep`` is called between
    retries. Every 2xx answer must be signed by the register and dated within 300 s of
    ``clock`` (signed error answers are verified too); ``allow_unsigned_responses`` accepts
    unsigned answers, for a register that cannot sign (never the default).

    A register cannot make the client hold more than ``limits`` (:class:`~kassanet.Limits`:
    answer size after decompression, products, selections, tables, length of its messages),
    nor take longer than ``deadline`` seconds per call, every attempt, pause and byte
    included (a trickling answer ends with :class:`~kassanet.DeadlineExceededError`);
    ``total_deadline`` also ends every call once that many seconds have passed since the
    client was made (a connection test that must answer a web request in time). Without a
    ``transport`` the client uses :func:`~kassanet.http_transport`; a custom one should be
    made with it too (its ``network_backend`` argument), so that the deadline also bounds
    the status line and headers.
    """

    def __init__(
        self,
        base_url: str,
        signature_key: str,
        encryption_token: str,
        enable_encryption: bool,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        allow_unsigned_responses: bool = False,
        limits: Limits | None = None,
        deadline: float = DEFAULT_DEADLINE,
        total_deadline: float | None = None,
    ) -> None:
        if deadline <= 0 or (total_deadline is not None and total_deadline <= 0):
            raise ValueError("deadline and total_deadline must be positive")
        self.base_url = base_url.rstrip("/") + "/"
        self.enable_encryption = enable_encryption
        self.allow_unsigned_responses = allow_unsigned_responses
        self._clock = clock or utc_now
        self._signature_key = signature_key
        self._token = encryption_token
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self.limits = limits or Limits()
        self._deadline = deadline
        self._total_deadline = total_deadline
        self._expires_at = None if total_deadline is None else time.monotonic() + total_deadline
        self._http = httpx.Client(
            auth=KassanetAuth(signature_key, encrypted=enable_encryption, clock=clock),
            timeout=self._timeout,
            transport=transport if transport is not None else http_transport(),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"KassanetClient({self.base_url!r}, enable_encryption={self.enable_encryption})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- endpoints ---------------------------------------------------------------------------

    def test(self) -> m.SystemInfo:
        """``test``: check credentials and reachability."""
        return m.parse_system_info(self._call("GET", "test"))

    def get_all_products_raw(self) -> list[Any]:
        """``GetAllProducts`` as decoded JSON items; parse each with :func:`parse_product`."""
        return _list_of(
            self._call("GET", "GetAllProducts"),
            "products",
            "GetAllProducts",
            self.limits.max_products,
        )

    def get_all_products(self) -> list[m.Product]:
        """``GetAllProducts``; raises :class:`PayloadError` on the first malformed product."""
        raw = self.get_all_products_raw()
        return [m.parse_product(item, f"products[{i}]") for i, item in enumerate(raw)]

    def get_product_selection(self) -> list[m.Selection]:
        """``GetProductSelection``, ordered by ``sort``."""
        items = self._items(
            "GetProductSelection", "selections", m.parse_selection, self.limits.max_selections
        )
        for selection in items:
            if len(selection.product_ids) > self.limits.max_products:
                raise TooManyItemsError(
                    f"GetProductSelection: selection {truncate(selection.name, 80)!r} lists "
                    f"{len(selection.product_ids):,} products, more than the "
                    f"{self.limits.max_products:,} this service accepts"
                )
        return sorted(items, key=lambda selection: selection.sort)

    def table_numbers(self) -> list[m.Table]:
        """``TableNumbers``."""
        return self._items("TableNumbers", "tables", m.parse_table, self.limits.max_tables)

    def get_free_table_number(self) -> int:
        """``GetFreeTableNumber``; :class:`NotFoundError` (``NO_FREE_TABLE``) when none."""
        return m.parse_free_table(self._call("GET", "GetFreeTableNumber"))

    def get_payment_types(self) -> list[m.PaymentType]:
        """``GetPaymentTypes``."""
        return self._items("GetPaymentTypes", "payment_types", m.parse_payment_type)

    def send_order(
        self,
        reference: str,
        table_number: int,
        lines: list[m.OrderLine],
        *,
        service_type: str | None = None,
    ) -> m.SendOrderResult:
        """``SendOrder``: add ``lines`` to the table's open bill (or open one).

        ``reference`` is the platform's transaction id; the register adds nothing when it has
        already seen it on that bill, so retrying is safe. ``service_type`` (``eat_in``,
        ``takeaway`` or ``delivery``) tells the register which VAT to print; left out when None.
        """
        if service_type is not None and service_type not in m.SERVICE_TYPES:
            raise ValueError(f"service_type must be one of {', '.join(m.SERVICE_TYPES)}")
        payload: dict[str, Any] = {
            "reference": reference,
            "table_number": table_number,
            "lines": [line.to_json() for line in lines],
        }
        if service_type is not None:
            payload["service_type"] = service_type
        return m.parse_send_order_result(self._call("POST", "SendOrder", json=payload))

    def get_bill(self, table_number: int) -> m.Bill:
        """``GetBill``: the open bill, else the most recent (paid) one; 404 ``BILL_NOT_FOUND``."""
        payload = self._call("GET", "GetBill", params={"table_number": table_number})
        return m.parse_bill(payload)

    def pay_bill(
        self, reference: str, table_number: int, payment_type_id: str, amount: Decimal
    ) -> m.PayBillResult:
        """``PayBill`` for exactly ``amount``; 422 ``AMOUNT_MISMATCH`` when it is not the total.

        When an attempt's outcome is unknown (timeout, dropped connection, 5xx) the client
        reads the bill before paying again, and reports success without paying twice when the
        bill already lists ``reference`` as paid (protocol page, section 7).
        """
        if not isinstance(amount, Decimal):
            raise TypeError("amount must be a Decimal")
        payload = {
            "reference": reference,
            "table_number": table_number,
            "payment_type_id": payment_type_id,
            "amount": m.format_money(amount),
        }

        def already_paid() -> m.PayBillResult | None:
            try:
                bill = m.parse_bill(
                    self._attempt(
                        "GET", "GetBill", str(uuid.uuid4()), params={"table_number": table_number}
                    )
                )
            except KassanetError:
                return None
            if reference in bill.paid_references:
                logger.info("Kassanet PayBill %s was already taken; not paying again", reference)
                return m.PayBillResult(bill_id=bill.bill_id, status="paid")
            return None

        result = self._call("POST", "PayBill", json=payload, before_retry=already_paid)
        return result if isinstance(result, m.PayBillResult) else m.parse_pay_bill_result(result)

    # -- plumbing ----------------------------------------------------------------------------

    def _items(
        self,
        endpoint: str,
        key: str,
        parse: Callable[[Any, str], T],
        limit: int | None = None,
    ) -> list[T]:
        items = _list_of(self._call("GET", endpoint), key, endpoint, limit)
        return [parse(item, f"{key}[{i}]") for i, item in enumerate(items)]

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        before_retry: Callable[[], Any] | None = None,
    ) -> Any:
        """One logical call: attempts under the retry policy, all with the same request-id,
        all within one wall-clock deadline."""
        request_id = str(uuid.uuid4())
        started = self._monotonic()
        deadline = time.monotonic() + self._deadline
        if self._expires_at is not None:
            deadline = min(deadline, self._expires_at)
        scope = CALL_DEADLINE.set(deadline)
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    return self._attempt(method, endpoint, request_id, params=params, json=json)
                except KassanetError as error:
                    delay = self._retry.next_delay(attempt, error, self._monotonic() - started)
                    if delay is not None and time.monotonic() + delay >= deadline:
                        delay = None  # the next attempt could not even start in time
                    if delay is None:
                        if error.retryable:
                            logger.warning(
                                "Kassanet %s failed after %d attempt(s) [request-id %s]: %s",
                                endpoint,
                                attempt,
                                request_id,
                                error.message,
                            )
                        raise
                    logger.warning(
                        "Kassanet %s attempt %d failed (%s); retrying in %.2fs [request-id %s]",
                        endpoint,
                        attempt,
                        type(error).__name__,
                        delay,
                        request_id,
                    )
                self._sleep(delay)
                if before_retry is not None and (settled := before_retry()) is not None:
                    return settled
        finally:
            CALL_DEADLINE.reset(scope)

    def _attempt_timeout(self, deadline: float | None) -> httpx.Timeout:
        """The configured timeouts, none longer than the time left before ``deadline``."""
        if deadline is None:
            return self._timeout
        left = deadline - time.monotonic()

        def clamp(value: float | None) -> float:
            return max(0.001, left if value is None else min(value, left))

        return httpx.Timeout(
            connect=clamp(self._timeout.connect),
            read=clamp(self._timeout.read),
            write=clamp(self._timeout.write),
            pool=clamp(self._timeout.pool),
        )

    def _deadline_error(self, endpoint: str, request_id: str) -> DeadlineExceededError:
        seconds = self._deadline
        if self._total_deadline is not None:
            seconds = min(seconds, self._total_deadline)
        return DeadlineExceededError(
            f"Kassanet {endpoint} did not finish within its deadline ({seconds:g} s); the "
            "register is slow, or it trickles its answer",
            request_id=request_id,
        )

    def _attempt(
        self,
        method: str,
        endpoint: str,
        request_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """One HTTP attempt; maps every failure to a :class:`KassanetError`.

        The answer is streamed: its body is counted after decompression and refused past
        ``limits.max_response_bytes``, and reading stops at the call's deadline. The body's
        exact bytes are what the signature is checked over and what is decoded.
        """
        deadline = CALL_DEADLINE.get()
        if deadline is not None and time.monotonic() >= deadline:
            raise self._deadline_error(endpoint, request_id)
        content = (
            b""
            if json is None
            else encode_body(json, encrypted=self.enable_encryption, token=self._token)
        )
        try:
            request = self._http.build_request(
                method,
                self.base_url + endpoint,
                params=params,
                content=content,
                headers={REQUEST_ID_HEADER: request_id, "Accept-Encoding": ACCEPT_ENCODING},
                timeout=self._attempt_timeout(deadline),
            )
            response = self._http.send(request, stream=True)
            try:
                body = self._read_body(endpoint, response, request_id, deadline)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            if deadline is not None and time.monotonic() >= deadline - 0.001:
                raise self._deadline_error(endpoint, request_id) from exc
            raise TimeoutError(
                f"Kassanet {endpoint} timed out ({type(exc).__name__}); the register is slow "
                "or unreachable",
                request_id=request_id,
            ) from exc
        except httpx.TransportError as exc:
            # The detail (errno, TLS verification, a refused address) is for the server log;
            # the user is told only that the address could not be reached.
            logger.warning(
                "Kassanet %s: no connection to %s (%s: %s) [request-id %s]",
                endpoint,
                self.base_url,
                type(exc).__name__,
                exc,
                request_id,
            )
            raise ConnectError(
                f"{UNREACHABLE} (Kassanet {endpoint}); check the connection URL and that the "
                "register is online",
                request_id=request_id,
            ) from exc
        self._verify(endpoint, response, body, request_id)
        if response.is_success:
            try:
                return decode_body(body, encrypted=self.enable_encryption, token=self._token)
            except (CryptoError, PayloadError) as exc:
                exc.request_id = request_id
                exc.status_code = response.status_code
                raise
        raise self._api_error(endpoint, response, body, request_id)

    def _read_body(
        self, endpoint: str, response: httpx.Response, request_id: str, deadline: float | None
    ) -> bytes:
        limit = self.limits.max_response_bytes
        too_large = ResponseTooLargeError(
            f"Kassanet {endpoint}: the register's answer is larger than the {limit:,} bytes "
            "this service accepts",
            status_code=response.status_code,
            request_id=request_id,
        )
        if response.is_stream_consumed:
            # A test transport (respx) that read the body already: it is all in memory.
            if len(response.content) > limit:
                raise too_large
            return response.content
        encoding = response.headers.get("Content-Encoding", "")
        declared = response.headers.get("Content-Length", "")
        identity = encoding.strip().lower() in ("", "identity")
        if identity and declared.isdigit() and int(declared) > limit:
            raise too_large
        try:
            body = _BoundedBody(encoding, limit)
        except PayloadError as exc:
            exc.request_id = request_id
            exc.status_code = response.status_code
            raise
        try:
            for chunk in response.iter_raw():
                if deadline is not None and time.monotonic() >= deadline:
                    raise self._deadline_error(endpoint, request_id)
                body.feed(chunk)
            return body.finish()
        except _TooLarge:
            raise too_large from None
        except PayloadError as exc:
            exc.request_id = request_id
            exc.status_code = response.status_code
            raise

    def _verify(
        self, endpoint: str, response: httpx.Response, body: bytes, request_id: str
    ) -> None:
        """Refuse an answer that is not the register's own (see `verify_response_signature`).

        A signed error answer whose signature does not verify keeps its status (a 401 stays
        an :class:`AuthenticationError`, a 503 stays retryable) but its text is not trusted:
        most often our signature key is wrong, and the message says so.
        """
        try:
            verify_response_signature(
                response,
                self._signature_key,
                body=body,
                request_id=request_id,
                now=self._clock(),
                allow_unsigned=self.allow_unsigned_responses,
            )
        except SignatureError:
            if response.is_success:
                raise
            raise error_for_status(
                response.status_code,
                f"Kassanet {endpoint} failed with HTTP {response.status_code}, and the "
                "answer's signature does not verify with our signature key (its text is not "
                "trusted): check that the signature key matches the register's",
                request_id=request_id,
                retry_after=_retry_after(response),
            ) from None

    def _api_error(
        self, endpoint: str, response: httpx.Response, body: bytes, request_id: str
    ) -> KassanetError:
        code = message = None
        for encrypted in dict.fromkeys((self.enable_encryption, False)):
            try:
                payload = decode_body(body, encrypted=encrypted, token=self._token)
            except KassanetError:
                continue
            code, message = parse_error_payload(payload)
            break
        # The register's own words are bounded: they are stored and shown (errMessage, logs).
        if code is not None:
            code = truncate(code, self.limits.max_code_chars)
        if message is not None:
            message = truncate(message, self.limits.max_message_chars)
        reason = truncate(response.reason_phrase, self.limits.max_message_chars)
        detail = f"{code}: {message}" if code or message else reason
        return error_for_status(
            response.status_code,
            f"Kassanet {endpoint} failed with HTTP {response.status_code} ({detail})",
            code=code,
            request_id=request_id,
            retry_after=_retry_after(response),
        )
