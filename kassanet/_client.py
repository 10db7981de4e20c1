"""The Kassanet HTTP client: one method per endpoint of the protocol page."""

from __future__ import annotations

import logging
import time
import uuid
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
    KassanetError,
    PayloadError,
    SignatureError,
    TimeoutError,
    error_for_status,
)
from kassanet._retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "KassanetClient"]

logger = logging.getLogger("kassanet")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
T = TypeVar("T")


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


def _list_of(payload: Any, key: str, endpoint: str) -> list[Any]:
    items = payload.get(key) if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        raise PayloadError(f"{endpoint}: expected an object with a {key!r} list")
    return items


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
    ) -> None:
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
        self._http = httpx.Client(
            auth=KassanetAuth(signature_key, encrypted=enable_encryption, clock=clock),
            timeout=self._timeout,
            transport=transport,
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
        return _list_of(self._call("GET", "GetAllProducts"), "products", "GetAllProducts")

    def get_all_products(self) -> list[m.Product]:
        """``GetAllProducts``; raises :class:`PayloadError` on the first malformed product."""
        raw = self.get_all_products_raw()
        return [m.parse_product(item, f"products[{i}]") for i, item in enumerate(raw)]

    def get_product_selection(self) -> list[m.Selection]:
        """``GetProductSelection``, ordered by ``sort``."""
        items = self._items("GetProductSelection", "selections", m.parse_selection)
        return sorted(items, key=lambda selection: selection.sort)

    def table_numbers(self) -> list[m.Table]:
        """``TableNumbers``."""
        return self._items("TableNumbers", "tables", m.parse_table)

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

    def _items(self, endpoint: str, key: str, parse: Callable[[Any, str], T]) -> list[T]:
        items = _list_of(self._call("GET", endpoint), key, endpoint)
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
        """One logical call: attempts under the retry policy, all with the same request-id."""
        request_id = str(uuid.uuid4())
        started = self._monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, endpoint, request_id, params=params, json=json)
            except KassanetError as error:
                delay = self._retry.next_delay(attempt, error, self._monotonic() - started)
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

    def _attempt(
        self,
        method: str,
        endpoint: str,
        request_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """One HTTP attempt; maps every failure to a :class:`KassanetError`."""
        content = (
            b""
            if json is None
            else encode_body(json, encrypted=self.enable_encryption, token=self._token)
        )
        try:
            response = self._http.request(
                method,
                self.base_url + endpoint,
                params=params,
                content=content,
                headers={REQUEST_ID_HEADER: request_id},
            )
        except httpx.TimeoutException as exc:
            raise TimeoutError(
                f"Kassanet {endpoint} timed out ({type(exc).__name__}); the register is slow "
                "or unreachable",
                request_id=request_id,
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectError(
                f"Kassanet {endpoint}: could not talk to the register at {self.base_url} "
                f"({type(exc).__name__}: {exc}); check the connection URL and that it is online",
                request_id=request_id,
            ) from exc
        self._verify(endpoint, response, request_id)
        if response.is_success:
            try:
                return decode_body(
                    response.content, encrypted=self.enable_encryption, token=self._token
                )
            except (CryptoError, PayloadError) as exc:
                exc.request_id = request_id
                exc.status_code = response.status_code
                raise
        raise self._api_error(endpoint, response, request_id)

    def _verify(self, endpoint: str, response: httpx.Response, request_id: str) -> None:
        """Refuse an answer that is not the register's own (see `verify_response_signature`).

        A signed error answer whose signature does not verify keeps its status (a 401 stays
        an :class:`AuthenticationError`, a 503 stays retryable) but its text is not trusted:
        most often our signature key is wrong, and the message says so.
        """
        try:
            verify_response_signature(
                response,
                self._signature_key,
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

    def _api_error(self, endpoint: str, response: httpx.Response, request_id: str) -> KassanetError:
        code = message = None
        for encrypted in dict.fromkeys((self.enable_encryption, False)):
            try:
                payload = decode_body(response.content, encrypted=encrypted, token=self._token)
            except KassanetError:
                continue
            code, message = parse_error_payload(payload)
            break
        detail = f"{code}: {message}" if code or message else response.reason_phrase
        return error_for_status(
            response.status_code,
            f"Kassanet {endpoint} failed with HTTP {response.status_code} ({detail})",
            code=code,
            request_id=request_id,
            retry_after=_retry_after(response),
        )
