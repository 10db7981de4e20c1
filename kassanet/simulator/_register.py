"""The simulated register's state and business rules, independent of HTTP."""

from __future__ import annotations

import copy
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from kassanet._models import SERVICE_TYPES, format_money
from kassanet.simulator._catalog import generate_catalog

__all__ = [
    "DEVIATIONS",
    "Deviations",
    "EndpointStatus",
    "Faults",
    "Register",
    "RegisterError",
    "SimulatorConfig",
]

TRANSIENT_STATUSES = (503, 500, 502, 504)


class RegisterError(Exception):
    """A protocol error answer: HTTP ``status`` with ``{"error": {code, message}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Deviations:
    """Ways to make the simulator a wrong register, to prove the conformance kit catches each.

    All off by default; ``POST /_control/reset`` turns them off again. (Clock skew is
    ``SimulatorConfig.clock_skew_seconds``, set through ``POST /_control/clock-skew``.)
    """

    modifiers_per_line: bool = False
    """Price a modifier once per line instead of once per unit (the old bug)."""
    no_webshop: bool = False
    """No payment type named Webshop (left out of ``GetPaymentTypes`` and refused by PayBill)."""
    encryption: bool | None = None
    """The register's own encryption flag, overriding ``SimulatorConfig.encrypt`` (whose value
    the test clients keep): ``False`` on an encrypting simulator is "encryption off on the
    register while the client has it on", ``True`` on a plain one the reverse."""
    wrong_signature: bool = False
    """Sign answers with another key than the configured signature key."""
    unsigned: bool = False
    """Answer without ``Date`` and ``Signature`` headers."""
    missing_endpoints: list[str] = field(default_factory=list)
    """Endpoints answered 404 ``UNKNOWN_ENDPOINT``, as if the register did not have them."""


DEVIATIONS = tuple(Deviations.__dataclass_fields__)


@dataclass
class SimulatorConfig:
    """Start-up options of the simulator (also the CLI's options)."""

    signature_key: str = "sim-signature-key"
    encryption_token: str = "sim-encryption-token"
    encrypt: bool = True
    products: int = 200
    seed: int = 1
    tables: int = 50
    prefix: str = "/kassanet/"
    latency_ms: int = 0
    failure_rate: float = 0.0
    offline: bool = False
    clock_skew_seconds: int = 0
    max_skew_seconds: int = 300
    deviations: Deviations = field(default_factory=Deviations)
    """Deviations to start with (the CLI's flags); ``reset`` turns them off."""

    def public(self) -> dict[str, Any]:
        """The configuration without its secrets."""
        data = asdict(self)
        del data["signature_key"], data["encryption_token"]
        return data


@dataclass
class EndpointStatus:
    """Answer the next ``count`` requests to ``endpoint`` with ``status`` (forever if None)."""

    endpoint: str
    status: int
    count: int | None = 1
    code: str = "SIMULATED_ERROR"
    body: str | None = None


@dataclass
class Faults:
    latency_ms: int = 0
    failure_rate: float = 0.0
    offline: bool = False
    endpoint_status: list[EndpointStatus] = field(default_factory=list)


def _parse_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise RegisterError(400, "INVALID_REQUEST", f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RegisterError(400, "INVALID_REQUEST", f"{name} must be an integer") from None


def _require(data: Any, name: str, kind: type) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RegisterError(400, "INVALID_REQUEST", f"{name} is missing or not a {kind.__name__}")
    return value


class Register:
    """Catalog, bills, payments, counters and faults, guarded by one lock."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.faults = Faults(config.latency_ms, config.failure_rate, config.offline)
        self.deviations = Deviations(**asdict(config.deviations))
        self._rng = random.Random(config.seed)
        self.counters: Counter[str] = Counter()
        self.bills: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self._catalog: dict[str, Any] = {}
        self._prices: dict[str, Decimal] = {}
        self._modifier_prices: dict[str, Decimal] = {}
        self.products_json_cache: bytes | None = None
        self.set_catalog(generate_catalog(config.products, config.seed, config.tables))

    # -- clock and catalog ------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.config.clock_skew_seconds)

    @property
    def catalog(self) -> dict[str, Any]:
        return self._catalog

    def set_catalog(self, catalog: dict[str, Any]) -> None:
        """Replace the whole catalog; malformed products are kept (to test importers)."""
        for key in ("products", "selections", "tables", "payment_types"):
            if not isinstance(catalog.get(key), list):
                raise RegisterError(400, "INVALID_CATALOG", f"catalog.{key} must be a list")
        prices: dict[str, Decimal] = {}
        modifier_prices: dict[str, Decimal] = {}
        for product in catalog["products"]:
            try:
                prices[str(product["id"])] = Decimal(product["price"])
                for group in product.get("modifier_groups") or []:
                    for modifier in group.get("modifiers") or []:
                        modifier_prices[str(modifier["id"])] = Decimal(modifier["price"])
            except (KeyError, TypeError, AttributeError, InvalidOperation):
                continue
        with self.lock:
            self._catalog = catalog
            self._prices, self._modifier_prices = prices, modifier_prices
            self.products_json_cache = None

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.deviations = Deviations()
            self.bills.clear()
            self.payments.clear()
            self.counters.clear()
            self.config.clock_skew_seconds = 0

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "config": self.config.public(),
                "faults": asdict(self.faults),
                "deviations": asdict(self.deviations),
                "counters": dict(self.counters),
                "payments": copy.deepcopy(self.payments),
                "bills": copy.deepcopy(self.bills),
                "catalog_size": {k: len(v) for k, v in self._catalog.items()},
            }

    # -- faults ------------------------------------------------------------------------------

    def set_faults(self, data: dict[str, Any]) -> None:
        """Apply ``POST /_control/faults``; keys left out keep their current value."""
        with self.lock:
            if "latency_ms" in data:
                self.faults.latency_ms = _parse_int(data["latency_ms"], "latency_ms")
            if "failure_rate" in data:
                self.faults.failure_rate = float(data["failure_rate"])
            if "offline" in data:
                self.faults.offline = bool(data["offline"])
            rules = data.get("endpoint_status")
            if rules is not None:
                rules = rules if isinstance(rules, list) else [rules]
                self.faults.endpoint_status = [EndpointStatus(**rule) for rule in rules]

    def set_deviations(self, data: dict[str, Any]) -> None:
        """Apply ``POST /_control/deviations``; keys left out keep their current value."""
        unknown = sorted(set(data) - set(DEVIATIONS))
        if unknown:
            raise RegisterError(
                400,
                "INVALID_REQUEST",
                f"unknown deviation(s) {', '.join(unknown)}; known: {', '.join(DEVIATIONS)}",
            )
        with self.lock:
            for name in ("modifiers_per_line", "no_webshop", "wrong_signature", "unsigned"):
                if name in data:
                    setattr(self.deviations, name, bool(data[name]))
            if "encryption" in data:
                flag = data["encryption"]
                self.deviations.encryption = None if flag is None else bool(flag)
            if "missing_endpoints" in data:
                names = data["missing_endpoints"]
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise RegisterError(
                        400, "INVALID_REQUEST", "missing_endpoints must be a list of names"
                    )
                self.deviations.missing_endpoints = list(names)

    @property
    def encrypts(self) -> bool:
        """Whether the register encrypts now (its configured flag, unless a deviation says)."""
        flag = self.deviations.encryption
        return self.config.encrypt if flag is None else flag

    def injected_failure(self, endpoint: str) -> tuple[int, str, str | None] | None:
        """A failure to answer instead of serving ``endpoint``: ``(status, code, raw body)``."""
        with self.lock:
            for rule in self.faults.endpoint_status:
                if rule.endpoint == endpoint and (rule.count is None or rule.count > 0):
                    if rule.count is not None:
                        rule.count -= 1
                    return rule.status, rule.code, rule.body
            if self.faults.failure_rate and self._rng.random() < self.faults.failure_rate:
                return self._rng.choice(TRANSIENT_STATUSES), "SIMULATED_FAILURE", None
        return None

    # -- endpoints ---------------------------------------------------------------------------

    def test(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        return {
            "status": "ok",
            "system": {
                "name": "Kassanet simulator",
                "version": "1.0",
                "register": f"SIM-{self.config.seed}",
            },
        }

    def get_product_selection(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        return {"selections": self._catalog["selections"]}

    def table_numbers(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        return {"tables": self._catalog["tables"]}

    def _payment_types(self) -> list[dict[str, Any]]:
        types: list[dict[str, Any]] = self._catalog["payment_types"]
        if self.deviations.no_webshop:
            return [p for p in types if str(p.get("name", "")).strip().lower() != "webshop"]
        return types

    def get_payment_types(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        return {"payment_types": self._payment_types()}

    def _open_bill(self, table_number: int) -> dict[str, Any] | None:
        return next(
            (
                b
                for b in reversed(self.bills)
                if b["table_number"] == table_number and b["status"] == "open"
            ),
            None,
        )

    def _table_exists(self, table_number: int) -> bool:
        return any(t.get("number") == table_number for t in self._catalog["tables"])

    def get_free_table_number(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        with self.lock:
            busy = {b["table_number"] for b in self.bills if b["status"] == "open"}
            for table in self._catalog["tables"]:
                if table.get("number") not in busy:
                    return {"table_number": table["number"]}
        raise RegisterError(404, "NO_FREE_TABLE", "every table has an open bill")

    def _price_line(self, line: Any) -> tuple[dict[str, Any], Decimal]:
        product_id = str(_require(line, "product_id", str))
        quantity = _require(line, "quantity", int)
        if quantity < 1:
            raise RegisterError(422, "INVALID_QUANTITY", "quantity must be at least 1")
        if product_id not in self._prices:
            raise RegisterError(422, "UNKNOWN_PRODUCT", f"product {product_id} is not on the menu")
        price = self._prices[product_id]
        per_unit = price  # a modifier's quantity is per unit of its line (protocol section 6)
        per_line = Decimal(0)  # what the modifiers_per_line deviation adds once per line
        modifiers = []
        for modifier in line.get("modifiers") or []:
            modifier_id = str(_require(modifier, "modifier_id", str))
            mod_quantity = modifier.get("quantity", 1)
            if not isinstance(mod_quantity, int) or isinstance(mod_quantity, bool):
                raise RegisterError(400, "INVALID_REQUEST", "modifier quantity must be an int")
            if modifier_id not in self._modifier_prices:
                raise RegisterError(422, "UNKNOWN_MODIFIER", f"modifier {modifier_id} is unknown")
            mod_price = self._modifier_prices[modifier_id]
            if self.deviations.modifiers_per_line:
                per_line += mod_price * mod_quantity
            else:
                per_unit += mod_price * mod_quantity
            modifiers.append(
                {
                    "modifier_id": modifier_id,
                    "quantity": mod_quantity,
                    "unit_price": format_money(mod_price),
                }
            )
        priced = {
            "product_id": product_id,
            "quantity": quantity,
            "unit_price": format_money(price),
            "modifiers": modifiers,
            "note": str(line.get("note", "")),
        }
        return priced, per_unit * quantity + per_line

    def send_order(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        reference = _require(body, "reference", str)
        table_number = _require(body, "table_number", int)
        lines = _require(body, "lines", list)
        service_type = body.get("service_type")
        if service_type is not None and service_type not in SERVICE_TYPES:
            raise RegisterError(
                400,
                "INVALID_SERVICE_TYPE",
                f"service_type must be one of {', '.join(SERVICE_TYPES)}",
            )
        with self.lock:
            if not self._table_exists(table_number):
                raise RegisterError(404, "TABLE_NOT_FOUND", f"table {table_number} does not exist")
            for seen in self.bills:
                if reference in seen["references"]:
                    if seen["table_number"] != table_number:
                        raise RegisterError(
                            409,
                            "REFERENCE_CONFLICT",
                            f"reference {reference} is on another table's bill",
                        )
                    return {"table_number": table_number, "bill_id": seen["bill_id"]}
            priced = [self._price_line(line) for line in lines]
            if not priced:
                raise RegisterError(400, "INVALID_REQUEST", "an order needs at least one line")
            bill = self._open_bill(table_number)
            if bill is None:
                bill = {
                    "bill_id": f"B{len(self.bills) + 1:06d}",
                    "table_number": table_number,
                    "status": "open",
                    "lines": [],
                    "total": "0.00",
                    "references": [],
                    "paid_references": [],
                    "opened_at": self.now().isoformat(),
                }
                self.bills.append(bill)
            # The register prints each line's VAT from its service type: keep it on the line.
            bill["lines"].extend({**line, "service_type": service_type} for line, _ in priced)
            total = Decimal(bill["total"]) + sum((t for _, t in priced), Decimal(0))
            bill["total"] = format_money(total)
            bill["references"].append(reference)
            return {"table_number": table_number, "bill_id": bill["bill_id"]}

    def get_bill(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        table_number = _parse_int(params.get("table_number"), "table_number")
        with self.lock:
            bills = [b for b in self.bills if b["table_number"] == table_number]
            if not bills:
                raise RegisterError(404, "BILL_NOT_FOUND", f"table {table_number} has no bill")
            bill = self._open_bill(table_number) or bills[-1]
            return {k: copy.deepcopy(v) for k, v in bill.items() if k != "opened_at"}

    def pay_bill(self, params: dict[str, str], body: Any) -> dict[str, Any]:
        reference = _require(body, "reference", str)
        table_number = _require(body, "table_number", int)
        payment_type_id = _require(body, "payment_type_id", str)
        try:
            amount = Decimal(_require(body, "amount", str))
        except InvalidOperation:
            raise RegisterError(400, "INVALID_REQUEST", "amount is not a decimal") from None
        with self.lock:
            for paid in self.bills:
                if reference in paid["paid_references"]:
                    return {"bill_id": paid["bill_id"], "status": "paid"}
            bill = self._open_bill(table_number)
            if bill is None:
                raise RegisterError(404, "BILL_NOT_FOUND", f"table {table_number} has no open bill")
            if payment_type_id not in {p.get("id") for p in self._payment_types()}:
                raise RegisterError(
                    422, "UNKNOWN_PAYMENT_TYPE", f"payment type {payment_type_id} is unknown"
                )
            if amount != Decimal(bill["total"]):
                raise RegisterError(
                    422,
                    "AMOUNT_MISMATCH",
                    f"amount {format_money(amount)} differs from the bill total {bill['total']}",
                )
            bill["status"] = "paid"
            bill["paid_references"].append(reference)
            self.payments.append(
                {
                    "reference": reference,
                    "bill_id": bill["bill_id"],
                    "table_number": table_number,
                    "payment_type_id": payment_type_id,
                    "amount": format_money(amount),
                    "time": self.now().isoformat(),
                }
            )
            return {"bill_id": bill["bill_id"], "status": "paid"}
