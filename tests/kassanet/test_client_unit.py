"""The client against respx doubles: signing, error mapping, retries, payload parsing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from kassanet import (
    AuthenticationError,
    ConflictError,
    ConnectError,
    KassanetClient,
    KassanetError,
    NotFoundError,
    PayloadError,
    RateLimitError,
    RequestError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SignatureError,
    StaleResponseError,
    TimeoutError,
    encrypt,
    format_date,
    parse_product,
    sign,
)
from kassanet.testing import SigningTransport

BASE = "https://pos.example.be/kassanet"
KEY = "sig-key-SECRET-1234"
TOKEN = "enc-token-SECRET-5678"
NOW = datetime(2026, 11, 26, 19, 33, 10, 123456, tzinfo=UTC)


class Recorder:
    """An injected sleep that records the delays it was asked for."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def make_client(
    *,
    encrypted: bool = False,
    retry: RetryPolicy | None = None,
    sleeps: Recorder | None = None,
    signed: bool = True,
    allow_unsigned: bool = False,
) -> KassanetClient:
    """A client whose respx answers are signed like a register's (unless ``signed=False``)."""
    return KassanetClient(
        BASE,
        KEY,
        TOKEN,
        encrypted,
        timeout=2.0,
        retry=retry or RetryPolicy(max_attempts=4, initial_delay=0.5, jitter=lambda d: d),
        clock=lambda: NOW,
        sleep=sleeps or Recorder(),
        transport=SigningTransport(KEY, clock=lambda: NOW) if signed else None,
        allow_unsigned_responses=allow_unsigned,
    )


def error_body(code: str, message: str = "nope") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def test_date_is_formatted_like_php_date_c() -> None:
    assert format_date(NOW) == "2026-11-26T19:33:10+00:00"
    brussels = datetime(2026, 7, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_date(brussels) == "2026-07-01T08:00:00+02:00"
    with pytest.raises(ValueError):
        format_date(datetime(2026, 1, 1))


@respx.mock
def test_get_request_is_signed_over_date_and_empty_body() -> None:
    route = respx.get(f"{BASE}/test").respond(json={"status": "ok", "system": {"name": "K"}})
    info = make_client().test()
    request = route.calls.last.request
    assert request.headers["Date"] == "2026-11-26T19:33:10+00:00"
    assert request.headers["Signature"] == sign(KEY, "2026-11-26T19:33:10+00:00", b"")
    assert request.headers["Content-Type"] == "application/json"
    assert len(request.headers["request-id"]) == 36
    assert info.status == "ok" and info.name == "K" and info.version == ""


@respx.mock
def test_encrypted_post_signs_the_base64_body_and_sends_text_plain() -> None:
    route = respx.post(f"{BASE}/SendOrder").respond(
        text=encrypt(b'{"table_number":4,"bill_id":"B1"}', TOKEN)
    )
    result = make_client(encrypted=True).send_order("T-1", 4, [])
    request = route.calls.last.request
    body = request.content
    assert request.headers["Content-Type"] == "text/plain"
    assert request.headers["Signature"] == sign(KEY, "2026-11-26T19:33:10+00:00", body)
    assert body.decode() == encrypt(
        json.dumps(
            {"reference": "T-1", "table_number": 4, "lines": []}, separators=(",", ":")
        ).encode(),
        TOKEN,
    )
    assert (result.table_number, result.bill_id) == (4, "B1")


@respx.mock
def test_response_with_bad_signature_is_rejected() -> None:
    respx.get(f"{BASE}/test").respond(
        json={"status": "ok"}, headers={"Date": "2026-11-26T19:33:10+00:00", "Signature": "00"}
    )
    with pytest.raises(SignatureError):
        make_client().test()


@respx.mock
def test_response_with_good_signature_is_accepted() -> None:
    body = b'{"status":"ok"}'
    date = "2026-11-26T19:33:11+00:00"
    respx.get(f"{BASE}/test").respond(
        content=body, headers={"Date": date, "Signature": sign(KEY, date, body)}
    )
    assert make_client().test().status == "ok"


@pytest.mark.parametrize(
    ("status", "code", "cls", "retryable"),
    [
        (400, "INVALID_REQUEST", RequestError, False),
        (401, "INVALID_SIGNATURE", AuthenticationError, False),
        (404, "BILL_NOT_FOUND", NotFoundError, False),
        (409, "REFERENCE_CONFLICT", ConflictError, False),
        (422, "AMOUNT_MISMATCH", RequestError, False),
        (408, "SLOW", RequestTimeoutError, True),
        (429, "SLOW_DOWN", RateLimitError, True),
        (500, "BOOM", ServerError, True),
        (502, "BOOM", ServerError, True),
        (503, "BOOM", ServerError, True),
        (504, "BOOM", ServerError, True),
        (501, "NOPE", ServerError, False),
    ],
)
@respx.mock
def test_error_status_maps_to_exception(
    status: int, code: str, cls: type[KassanetError], retryable: bool
) -> None:
    route = respx.get(f"{BASE}/GetBill").respond(status, json=error_body(code, "explained"))
    sleeps = Recorder()
    with pytest.raises(cls) as excinfo:
        make_client(sleeps=sleeps).get_bill(3)
    error = excinfo.value
    assert type(error) is cls
    assert (error.status_code, error.code, error.retryable) == (status, code, retryable)
    assert error.request_id == route.calls.last.request.headers["request-id"]
    assert f"{code}: explained" in str(error)
    assert route.call_count == (4 if retryable else 1)
    assert sleeps.sleeps == ([0.5, 1.0, 2.0] if retryable else [])


@respx.mock
def test_encrypted_error_body_is_decoded() -> None:
    body = encrypt(json.dumps(error_body("AMOUNT_MISMATCH", "differs")).encode(), TOKEN)
    respx.post(f"{BASE}/PayBill").respond(422, text=body)
    with pytest.raises(RequestError) as excinfo:
        make_client(encrypted=True).pay_bill("T-1", 2, "PT3", Decimal("12.50"))
    assert excinfo.value.code == "AMOUNT_MISMATCH"


@respx.mock
def test_retries_keep_request_id_and_follow_capped_backoff() -> None:
    route = respx.get(f"{BASE}/TableNumbers").mock(
        side_effect=[httpx.Response(503)] * 5 + [httpx.Response(200, json={"tables": []})]
    )
    sleeps = Recorder()
    policy = RetryPolicy(
        max_attempts=6, initial_delay=1.0, max_delay=3.0, total_budget=100, jitter=lambda d: d / 2
    )
    assert make_client(retry=policy, sleeps=sleeps).table_numbers() == []
    assert sleeps.sleeps == [0.5, 1.0, 1.5, 1.5, 1.5]
    assert len({call.request.headers["request-id"] for call in route.calls}) == 1


@respx.mock
def test_retry_stops_at_total_budget() -> None:
    route = respx.get(f"{BASE}/TableNumbers").respond(500)
    sleeps = Recorder()
    policy = RetryPolicy(max_attempts=10, initial_delay=1.0, total_budget=3.5, jitter=lambda d: d)
    clock = iter(range(0, 100))  # elapsed grows one second per monotonic() reading
    client = KassanetClient(
        BASE, KEY, TOKEN, False, retry=policy, sleep=sleeps, monotonic=lambda: next(clock)
    )
    with pytest.raises(ServerError):
        client.table_numbers()
    # elapsed readings 1, 2, 3: 1+1 <= 3.5, 2+2 > 3.5 -> gives up after the 2nd attempt
    assert sleeps.sleeps == [1.0]
    assert route.call_count == 2


@pytest.mark.parametrize("status", [429, 503])
@respx.mock
def test_retry_after_header_sets_the_delay(status: int) -> None:
    respx.get(f"{BASE}/GetPaymentTypes").mock(
        side_effect=[
            httpx.Response(status, headers={"Retry-After": "7"}),
            httpx.Response(200, json={"payment_types": [{"id": "PT3", "name": "Webshop"}]}),
        ]
    )
    sleeps = Recorder()
    policy = RetryPolicy(total_budget=60, jitter=lambda d: d)
    types = make_client(retry=policy, sleeps=sleeps).get_payment_types()
    assert sleeps.sleeps == [7.0]
    assert types[0].name == "Webshop"


@respx.mock
def test_retry_after_beyond_budget_gives_up_at_once() -> None:
    route = respx.get(f"{BASE}/test").respond(429, headers={"Retry-After": "25"})
    sleeps = Recorder()
    with pytest.raises(RateLimitError) as excinfo:
        make_client(retry=RetryPolicy(total_budget=10), sleeps=sleeps).test()
    assert excinfo.value.retry_after == 25.0
    assert route.call_count == 1 and sleeps.sleeps == []


@respx.mock
def test_connect_errors_and_timeouts_are_retried_then_reported() -> None:
    respx.get(f"{BASE}/test").mock(side_effect=httpx.ConnectError("refused"))
    respx.get(f"{BASE}/TableNumbers").mock(side_effect=httpx.ReadTimeout("slow"))
    sleeps = Recorder()
    client = make_client(retry=RetryPolicy(max_attempts=3, jitter=lambda d: d), sleeps=sleeps)
    with pytest.raises(ConnectError) as connect:
        client.test()
    with pytest.raises(TimeoutError) as timeout:
        client.table_numbers()
    assert connect.value.retryable and timeout.value.retryable
    assert sleeps.sleeps == [0.5, 1.0, 0.5, 1.0]


@respx.mock
def test_pay_bill_after_unknown_outcome_checks_bill_and_does_not_pay_twice() -> None:
    pay = respx.post(f"{BASE}/PayBill").mock(side_effect=httpx.ReadTimeout("lost answer"))
    bill = {
        "bill_id": "B7",
        "table_number": 3,
        "status": "paid",
        "total": "9.00",
        "paid_references": ["T-9"],
    }
    respx.get(f"{BASE}/GetBill").respond(json=bill)
    result = make_client().pay_bill("T-9", 3, "PT3", Decimal("9"))
    assert (result.bill_id, result.status) == ("B7", "paid")
    assert pay.call_count == 1
    assert json.loads(pay.calls.last.request.content)["amount"] == "9.00"


@respx.mock
def test_pay_bill_retries_when_bill_is_still_open() -> None:
    pay = respx.post(f"{BASE}/PayBill").mock(
        side_effect=[
            httpx.ReadTimeout("lost"),
            httpx.Response(200, json={"bill_id": "B7", "status": "paid"}),
        ]
    )
    respx.get(f"{BASE}/GetBill").respond(
        json={"bill_id": "B7", "table_number": 3, "status": "open", "total": "9.00"}
    )
    assert make_client().pay_bill("T-9", 3, "PT3", Decimal("9.00")).status == "paid"
    assert pay.call_count == 2


@respx.mock
def test_products_parse_money_as_decimal_and_ignore_unknown_fields() -> None:
    product = {
        "id": "P1",
        "name": "Croque",
        "price": "12.50",
        "vat_rate": "12.00",
        "unknown": {"x": 1},
        "category": {"id": "C2", "name": "Snacks", "parent": {"id": "C1", "name": "Food"}},
        "modifier_groups": [
            {
                "id": "G1",
                "name": "Sauce",
                "modifiers": [{"id": "M1", "name": "Mayo", "price": "0.50"}],
            }
        ],
    }
    respx.get(f"{BASE}/GetAllProducts").respond(json={"products": [product]})
    (parsed,) = make_client().get_all_products()
    assert parsed.price == Decimal("12.50") and isinstance(parsed.price, Decimal)
    assert parsed.kitchen_name == "Croque" and parsed.plu == "" and parsed.stock is None
    assert parsed.active is True
    assert parsed.category is not None and parsed.category.parent is not None
    assert parsed.category.parent.name == "Food"
    group = parsed.modifier_groups[0]
    assert (group.min, group.max, group.modifiers[0].price) == (0, 1, Decimal("0.50"))


@pytest.mark.parametrize(
    ("product", "fragment"),
    [
        ({"id": "P1", "name": "X", "price": 12.5}, "products[0].price"),
        ({"id": "P1", "price": "1.00"}, "products[0].name: missing"),
        ({"id": "P1", "name": "X", "price": "abc"}, "not a decimal"),
        ({"id": "P1", "name": "X", "price": "1.00", "stock": "many"}, "stock"),
        ("not an object", "expected an object"),
    ],
)
def test_parse_product_names_the_bad_field(product: Any, fragment: str) -> None:
    with pytest.raises(PayloadError) as excinfo:
        parse_product(product, "products[0]")
    assert fragment in str(excinfo.value)


def test_secrets_never_appear_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    failures = [
        httpx.Response(401, json=error_body("INVALID_SIGNATURE")),
        httpx.Response(503),
        httpx.Response(200, text="not base64 !!"),
        httpx.Response(200, text=encrypt(b"{}", "other")),
    ]
    messages = []
    for failure in failures:
        with respx.mock:
            respx.get(f"{BASE}/test").mock(return_value=failure)
            client = make_client(encrypted=True, retry=RetryPolicy(max_attempts=2))
            with pytest.raises(KassanetError) as excinfo:
                client.test()
            messages += [str(excinfo.value), repr(excinfo.value), repr(client)]
    text = "\n".join(messages) + caplog.text
    assert "retrying" in caplog.text
    assert KEY not in text and TOKEN not in text
    assert "SECRET" not in text


# -- authentic and fresh answers (protocol page, section 3) -----------------------------------


@respx.mock
def test_unsigned_success_answer_is_refused() -> None:
    respx.get(f"{BASE}/test").respond(json={"status": "ok"})
    with pytest.raises(SignatureError, match="The register's answer is not signed"):
        make_client(signed=False).test()


@respx.mock
def test_unsigned_answer_is_accepted_only_when_the_integration_allows_it() -> None:
    respx.get(f"{BASE}/test").respond(json={"status": "ok"})
    assert make_client(signed=False, allow_unsigned=True).test().status == "ok"


@respx.mock
def test_allowing_unsigned_answers_still_checks_a_signature_that_is_there() -> None:
    respx.get(f"{BASE}/test").respond(
        json={"status": "ok"}, headers={"Date": "2026-11-26T19:33:10+00:00", "Signature": "ab"}
    )
    with pytest.raises(SignatureError, match="does not verify"):
        make_client(signed=False, allow_unsigned=True).test()


@pytest.mark.parametrize(
    ("date", "stale"),
    [
        ("2026-11-26T19:28:10+00:00", False),  # 300 s before our clock: still fresh
        ("2026-11-26T19:28:09+00:00", True),  # 301 s before: a replay
        ("2026-11-26T19:38:11+00:00", True),  # 301 s ahead
        ("2026-11-26T20:33:10+01:00", False),  # the same instant in another offset
    ],
)
@respx.mock
def test_answer_dated_more_than_300_seconds_from_our_clock_is_refused(
    date: str, stale: bool
) -> None:
    body = b'{"status":"ok"}'
    respx.get(f"{BASE}/test").respond(
        content=body, headers={"Date": date, "Signature": sign(KEY, date, body)}
    )
    if stale:
        with pytest.raises(StaleResponseError, match="replayed answer"):
            make_client(signed=False).test()
    else:
        assert make_client(signed=False).test().status == "ok"


@respx.mock
def test_signed_error_answer_that_does_not_verify_keeps_its_status_but_not_its_text() -> None:
    date = "2026-11-26T19:33:10+00:00"
    respx.get(f"{BASE}/test").respond(
        401,
        json=error_body("INVALID_SIGNATURE", "the signature does not verify"),
        headers={"Date": date, "Signature": sign("the-registers-other-key", date, b"x")},
    )
    with pytest.raises(AuthenticationError) as caught:
        make_client(signed=False).test()
    assert caught.value.status_code == 401 and caught.value.code is None
    assert "signature does not verify with our signature key" in caught.value.message
    assert KEY not in caught.value.message


@respx.mock
def test_a_stale_error_answer_is_still_read() -> None:
    body = json.dumps(error_body("CLOCK_SKEW")).encode()
    date = "2026-11-26T19:43:10+00:00"
    respx.get(f"{BASE}/test").respond(
        401, content=body, headers={"Date": date, "Signature": sign(KEY, date, body)}
    )
    with pytest.raises(AuthenticationError) as caught:
        make_client(signed=False).test()
    assert caught.value.code == "CLOCK_SKEW"


@respx.mock
def test_signed_error_answer_that_verifies_maps_to_its_status() -> None:
    respx.get(f"{BASE}/test").respond(404, json=error_body("UNKNOWN_ENDPOINT"))
    with pytest.raises(NotFoundError):
        make_client(signed=True).test()


@respx.mock
def test_unsigned_error_answer_still_maps_to_its_status() -> None:
    respx.get(f"{BASE}/test").respond(401, json=error_body("INVALID_SIGNATURE"))
    with pytest.raises(AuthenticationError):
        make_client(signed=False).test()


@respx.mock
def test_send_order_carries_service_type_only_when_given() -> None:
    route = respx.post(f"{BASE}/SendOrder").respond(json={"table_number": 4, "bill_id": "B1"})
    client = make_client()
    client.send_order("T-1", 4, [], service_type="takeaway")
    assert json.loads(route.calls.last.request.content)["service_type"] == "takeaway"
    client.send_order("T-2", 4, [])
    assert "service_type" not in json.loads(route.calls.last.request.content)
    with pytest.raises(ValueError, match="eat_in, takeaway, delivery"):
        client.send_order("T-3", 4, [], service_type="drive_in")
