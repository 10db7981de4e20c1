"""The client against the simulator over real HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from kassanet import (
    AuthenticationError,
    BlowfishDecryptionError,
    ConflictError,
    ConnectError,
    CryptoError,
    InvalidBase64Error,
    NotFoundError,
    OrderLine,
    OrderLineModifier,
    PayloadError,
    RequestError,
    RetryPolicy,
    ServerError,
    TimeoutError,
    no_jitter,
    parse_product,
)
from kassanet.simulator import generate_catalog
from kassanet.testing import SimulatorControl, SimulatorHandle, start_simulator

FAST = RetryPolicy(max_attempts=8, initial_delay=0.001, max_delay=0.01, jitter=no_jitter)


@pytest.fixture(scope="module", params=[True, False], ids=["encrypted", "plain"])
def sim(request: pytest.FixtureRequest) -> Iterator[SimulatorHandle]:
    with start_simulator(products=120, seed=5, tables=3, encrypt=request.param) as handle:
        yield handle


@pytest.fixture(autouse=True)
def clean(sim: SimulatorHandle) -> None:
    sim.reset()


def an_order_line(sim: SimulatorHandle) -> tuple[OrderLine, Decimal]:
    product, modifier = next(
        (product, modifier)
        for product in map(parse_product, sim.catalog()["products"])
        for group in product.modifier_groups
        for modifier in group.modifiers
        if modifier.price
    )
    line = OrderLine(
        product.id, 2, product.price, (OrderLineModifier(modifier.id, 3, modifier.price),)
    )
    # A modifier's quantity is per unit of its line (protocol page, section 6).
    return line, 2 * (product.price + 3 * modifier.price)


def test_reads_the_whole_catalog(sim: SimulatorHandle) -> None:
    with sim.client() as client:
        assert client.test().status == "ok"
        products = client.get_all_products()
        selections = client.get_product_selection()
        tables = client.table_numbers()
        payment_types = client.get_payment_types()
    catalog = generate_catalog(120, 5, 3)
    assert [p.id for p in products] == [p["id"] for p in catalog["products"]]
    assert [p.price for p in products] == [Decimal(p["price"]) for p in catalog["products"]]
    assert [s.sort for s in selections] == sorted(s.sort for s in selections)
    assert [t.number for t in tables] == [1, 2, 3]
    assert "Webshop" in {p.name for p in payment_types}


def test_generated_menu_has_placeholders_pagers_and_subcategories() -> None:
    products = generate_catalog(1000, 2, 50)["products"]
    assert any(p["kitchen_name"] == "zz" for p in products)
    assert any(p["name"].split()[0] in {"Pager", "Buzzer", "Pieper"} for p in products)
    assert any(p["category"]["parent"] for p in products)
    assert any(p["stock"] is None for p in products) and any(p["stock"] for p in products)
    assert generate_catalog(1000, 2, 50) == generate_catalog(1000, 2, 50)


def test_order_flow_prices_from_register_and_is_idempotent(sim: SimulatorHandle) -> None:
    line, expected_total = an_order_line(sim)
    with sim.client() as client:
        table = client.get_free_table_number()
        first = client.send_order("TX-1", table, [line])
        again = client.send_order("TX-1", table, [line])
        bill = client.get_bill(table)
        assert client.get_free_table_number() != table
        with pytest.raises(RequestError) as mismatch:
            client.pay_bill("TX-1", table, "PT3", expected_total + Decimal("0.01"))
        paid = client.pay_bill("TX-1", table, "PT3", expected_total)
        repeat = client.pay_bill("TX-1", table, "PT3", expected_total)
        after = client.get_bill(table)
    assert first == again
    assert bill.total == expected_total and len(bill.lines) == 1 and bill.is_open
    assert mismatch.value.code == "AMOUNT_MISMATCH" and mismatch.value.status_code == 422
    assert paid == repeat and paid.status == "paid"
    assert after.status == "paid" and after.paid_references == ("TX-1",)
    payments = sim.payments()
    assert [(p["reference"], p["amount"]) for p in payments] == [("TX-1", str(expected_total))]


def test_permanent_errors_are_raised_at_once(sim: SimulatorHandle) -> None:
    line, _ = an_order_line(sim)
    with sim.client() as client:
        with pytest.raises(NotFoundError) as not_found:
            client.get_bill(2)
        client.send_order("TX-2", 1, [line])
        with pytest.raises(ConflictError) as conflict:
            client.send_order("TX-2", 2, [line])
        with pytest.raises(NotFoundError) as no_bill:
            client.pay_bill("TX-3", 2, "PT3", Decimal("1.00"))
        for table in (2, 3):
            client.send_order(f"TX-busy-{table}", table, [line])
        with pytest.raises(NotFoundError) as no_table:
            client.get_free_table_number()
    assert not_found.value.code == "BILL_NOT_FOUND"
    assert conflict.value.code == "REFERENCE_CONFLICT"
    assert no_bill.value.code == "BILL_NOT_FOUND"
    assert no_table.value.code == "NO_FREE_TABLE"
    counters = sim.counters()
    assert counters["GetBill"] == 1 and counters["PayBill"] == 1
    assert counters["GetFreeTableNumber"] == 1


def test_wrong_signature_key_is_401_and_not_retried(sim: SimulatorHandle) -> None:
    client = sim.client(signature_key="wrong-key", retry=FAST)
    with client, pytest.raises(AuthenticationError) as excinfo:
        client.test()
    assert excinfo.value.status_code == 401
    assert sim.counters() == {"test": 1}


def test_stale_date_is_rejected(sim: SimulatorHandle) -> None:
    sim.set_clock_skew(301)
    with sim.client() as client, pytest.raises(AuthenticationError) as excinfo:
        client.test()
    assert excinfo.value.code == "CLOCK_SKEW"
    sim.set_clock_skew(-290)
    with sim.client() as client:
        assert client.test().status == "ok"


def test_transient_failures_are_retried_within_budget(sim: SimulatorHandle) -> None:
    sim.set_faults(failure_rate=0.3)
    with sim.client(retry=FAST) as client:
        for _ in range(10):
            assert client.get_payment_types()
    seen = sim.counters()["GetPaymentTypes"]
    assert seen > 10  # some attempts failed and were retried


def test_endpoint_status_fault_with_garbage_body(sim: SimulatorHandle) -> None:
    sim.set_faults(
        endpoint_status={"endpoint": "GetAllProducts", "status": 500, "count": 2, "body": "<html>"}
    )
    with sim.client(retry=FAST) as client:
        assert len(client.get_all_products()) == 120
    assert sim.counters()["GetAllProducts"] == 3
    sim.set_faults(endpoint_status={"endpoint": "test", "status": 500, "count": None})
    client = sim.client(retry=RetryPolicy(max_attempts=3, initial_delay=0, jitter=no_jitter))
    with client, pytest.raises(ServerError):
        client.test()
    assert sim.counters()["test"] == 3


def test_offline_register_is_a_transport_error(sim: SimulatorHandle) -> None:
    sim.set_faults(offline=True)
    client = sim.client(retry=RetryPolicy(max_attempts=2, initial_delay=0, jitter=no_jitter))
    with client, pytest.raises(ConnectError):
        client.test()
    assert sim.counters() == {"test": 2}
    sim.set_faults(offline=False)
    with sim.client() as client:
        assert client.test().status == "ok"


def test_timeout_is_retried_then_reported(sim: SimulatorHandle) -> None:
    sim.set_faults(latency_ms=300)
    policy = RetryPolicy(max_attempts=2, initial_delay=0, jitter=no_jitter)
    started = time.monotonic()
    with sim.client(timeout=0.1, retry=policy) as client, pytest.raises(TimeoutError):
        client.test()
    assert time.monotonic() - started < 2
    assert sim.counters() == {"test": 2}


def test_catalog_can_be_edited_through_control_api(sim: SimulatorHandle) -> None:
    control = SimulatorControl(sim.control_url)
    catalog = control.catalog()
    catalog["products"][0]["price"] = "99.90"
    catalog["products"].append({"id": "BAD", "name": "No price"})
    control.set_catalog(catalog)
    try:
        with sim.client() as client:
            raw = client.get_all_products_raw()
            with pytest.raises(PayloadError):
                client.get_all_products()
        good = []
        for item in raw:
            try:
                good.append(parse_product(item))
            except PayloadError:
                continue
        assert good[0].price == Decimal("99.90") and len(good) == 120
    finally:
        control.regenerate(products=120, seed=5, tables=3)


def test_secrets_absent_from_e2e_errors_and_logs(
    sim: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.set_faults(failure_rate=0.5)
    texts = []
    for overrides in ({"signature_key": "wrong"}, {"encryption_token": "wrong-token"}):
        with sim.client(retry=FAST, **overrides) as client:
            try:
                client.get_all_products()
            except Exception as exc:
                texts.append(f"{exc}\n{exc!r}")
    text = "\n".join(texts) + caplog.text
    assert sim.signature_key not in text and sim.encryption_token not in text


def test_wrong_token_yields_blowfish_decryption_error() -> None:
    with start_simulator(products=5, encrypt=True) as sim:
        client = sim.client(encryption_token="not-the-token")
        with client, pytest.raises(BlowfishDecryptionError) as wrong_token:
            client.get_all_products()
        client = sim.client(enable_encryption=False)
        with client, pytest.raises(PayloadError) as flag_off_here:
            client.test()
        assert sim.counters()["GetAllProducts"] == 1
    assert str(wrong_token.value).startswith("Blowfish decryption error")
    assert not wrong_token.value.retryable
    assert "encryption" in str(flag_off_here.value)


def test_encryption_off_at_register_yields_invalid_base64() -> None:
    with start_simulator(products=5, encrypt=False) as sim:
        with sim.client(enable_encryption=True) as client, pytest.raises(CryptoError) as excinfo:
            client.test()
        assert sim.counters() == {"test": 1}
    assert isinstance(excinfo.value, InvalidBase64Error)
    assert str(excinfo.value).startswith("Invalid base64 input")
