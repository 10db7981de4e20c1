"""Typed, immutable views of the protocol's payloads (protocol page, sections 5 and 6).

Readers ignore unknown fields and default missing optional ones. Money is always a
:class:`~decimal.Decimal` parsed from the wire's ``"12.50"`` strings; a float is refused.
Every ``parse_*`` function raises :class:`~kassanet.PayloadError` naming the bad field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from kassanet._exceptions import PayloadError

__all__ = [
    "SERVICE_TYPES",
    "Bill",
    "Category",
    "Modifier",
    "ModifierGroup",
    "OrderLine",
    "OrderLineModifier",
    "PayBillResult",
    "PaymentType",
    "Product",
    "Selection",
    "SendOrderResult",
    "SystemInfo",
    "Table",
    "format_money",
    "line_total",
    "parse_bill",
    "parse_money",
    "parse_payment_type",
    "parse_product",
    "parse_selection",
    "parse_table",
]

T = TypeVar("T")
SERVICE_TYPES = ("eat_in", "takeaway", "delivery")
"""SendOrder's ``service_type`` values (protocol page, section 6): the register needs it for
the VAT rate of each line on its fiscal receipt; it never changes a total."""
_MISSING: Any = object()
_CENT = Decimal("0.01")


def parse_money(value: Any, where: str = "amount") -> Decimal:
    """Parse a wire amount (``"12.50"``; an int is tolerated); floats are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where}: expected a money string like '12.50', got {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise PayloadError(f"{where}: {value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise PayloadError(f"{where}: {value!r} is not a finite amount")
    return amount


def format_money(amount: Decimal) -> str:
    """Format an amount for the wire with two decimals: ``Decimal("12.5")`` -> ``"12.50"``."""
    return str(amount.quantize(_CENT))


def _field(data: Mapping[str, Any], key: str, kind: type[T], where: str, default: Any) -> T:
    value = data.get(key, _MISSING)
    if value is _MISSING or (value is None and default is not _MISSING):
        if default is _MISSING:
            raise PayloadError(f"{where}.{key}: missing")
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> str:
    value = data.get(key, _MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids are strings on the wire, but tolerate numeric ids
    return _field(data, key, str, where, default)


def _int(data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> int:
    return _field(data, key, int, where, default)


def _list(data: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> list[Any]:
    return _field(data, key, list, where, default)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _items(values: list[Any], parse: Callable[[Any, str], T], where: str) -> tuple[T, ...]:
    return tuple(parse(value, f"{where}[{i}]") for i, value in enumerate(values))


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """Answer of ``test``."""

    status: str
    name: str
    version: str
    register: str


@dataclass(frozen=True, slots=True)
class Category:
    """A product category; ``parent`` is set for a subcategory (one level at most)."""

    id: str
    name: str
    parent: Category | None = None


@dataclass(frozen=True, slots=True)
class Modifier:
    id: str
    name: str
    kitchen_name: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class ModifierGroup:
    id: str
    name: str
    min: int
    max: int
    modifiers: tuple[Modifier, ...]


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    kitchen_name: str
    plu: str
    price: Decimal
    vat_rate: Decimal | None
    category: Category | None
    modifier_groups: tuple[ModifierGroup, ...]
    stock: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class Selection:
    """A product selection (becomes a display group); ordered by ``sort``."""

    id: str
    name: str
    sort: int
    product_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    number: int
    name: str


@dataclass(frozen=True, slots=True)
class PaymentType:
    id: str
    name: str


def line_total(
    quantity: int, unit_price: Decimal, modifiers: Iterable[tuple[Decimal, int]]
) -> Decimal:
    """The value of an order line as every register computes it (protocol page, section 6).

    ``modifiers`` are ``(unit_price, quantity_per_unit)`` pairs; a modifier's quantity is per
    unit of its line: ``quantity * (unit_price + sum(modifier_price * modifier_quantity))``.
    """
    per_unit = unit_price + sum((price * count for price, count in modifiers), Decimal(0))
    return per_unit * quantity


@dataclass(frozen=True, slots=True)
class OrderLineModifier:
    """A modifier on an order line; ``quantity`` is **per unit** of its line.

    "2 x Cola, Groot (+1.50)" is a line of ``quantity=2`` whose modifier has ``quantity=1``
    (protocol page, section 6, Line).
    """

    modifier_id: str
    quantity: int
    unit_price: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "modifier_id": self.modifier_id,
            "quantity": self.quantity,
            "unit_price": format_money(self.unit_price),
        }


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A bill line. The register prices it itself; ``unit_price`` is informative.

    ``total`` is how a register values a line (protocol page, section 6): a modifier's
    quantity is per unit, so
    ``quantity * (unit_price + sum(modifier.unit_price * modifier.quantity))``.
    """

    product_id: str
    quantity: int
    unit_price: Decimal
    modifiers: tuple[OrderLineModifier, ...] = ()
    note: str = ""

    @property
    def total(self) -> Decimal:
        return line_total(
            self.quantity, self.unit_price, ((m.unit_price, m.quantity) for m in self.modifiers)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "quantity": self.quantity,
            "unit_price": format_money(self.unit_price),
            "modifiers": [m.to_json() for m in self.modifiers],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class SendOrderResult:
    table_number: int
    bill_id: str


@dataclass(frozen=True, slots=True)
class Bill:
    """A table's open bill, or its most recent one (then ``status == "paid"``)."""

    bill_id: str
    table_number: int
    status: str
    total: Decimal
    lines: tuple[OrderLine, ...] = ()
    references: tuple[str, ...] = ()
    paid_references: tuple[str, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class PayBillResult:
    bill_id: str
    status: str


def parse_system_info(value: Any, where: str = "test") -> SystemInfo:
    data = _mapping(value, where)
    system = _mapping(data.get("system", {}), f"{where}.system")
    return SystemInfo(
        status=_str(data, "status", where),
        name=_str(system, "name", f"{where}.system", ""),
        version=_str(system, "version", f"{where}.system", ""),
        register=_str(system, "register", f"{where}.system", ""),
    )


def parse_category(value: Any, where: str = "category", *, depth: int = 0) -> Category:
    data = _mapping(value, where)
    parent = data.get("parent")
    if parent is not None and depth >= 1:
        raise PayloadError(f"{where}.parent: categories have at most one parent level")
    return Category(
        id=_str(data, "id", where),
        name=_str(data, "name", where),
        parent=None if parent is None else parse_category(parent, f"{where}.parent", depth=1),
    )


def parse_modifier(value: Any, where: str = "modifier") -> Modifier:
    data = _mapping(value, where)
    name = _str(data, "name", where)
    return Modifier(
        id=_str(data, "id", where),
        name=name,
        kitchen_name=_str(data, "kitchen_name", where, name),
        price=parse_money(data.get("price", "0.00"), f"{where}.price"),
    )


def parse_modifier_group(value: Any, where: str = "modifier_group") -> ModifierGroup:
    data = _mapping(value, where)
    modifiers = _items(_list(data, "modifiers", where, []), parse_modifier, f"{where}.modifiers")
    return ModifierGroup(
        id=_str(data, "id", where),
        name=_str(data, "name", where),
        min=_int(data, "min", where, 0),
        max=_int(data, "max", where, len(modifiers)),
        modifiers=modifiers,
    )


def parse_product(value: Any, where: str = "product") -> Product:
    """Parse one product; raises :class:`PayloadError` so an importer can skip just this one."""
    data = _mapping(value, where)
    name = _str(data, "name", where)
    category = data.get("category")
    vat_rate = data.get("vat_rate")
    active = _field(data, "active", bool, where, True)
    return Product(
        id=_str(data, "id", where),
        name=name,
        kitchen_name=_str(data, "kitchen_name", where, name),
        plu=_str(data, "plu", where, ""),
        price=parse_money(data.get("price"), f"{where}.price"),
        vat_rate=None if vat_rate is None else parse_money(vat_rate, f"{where}.vat_rate"),
        category=None if category is None else parse_category(category, f"{where}.category"),
        modifier_groups=_items(
            _list(data, "modifier_groups", where, []),
            parse_modifier_group,
            f"{where}.modifier_groups",
        ),
        stock=_int(data, "stock", where, None),
        active=active,
    )


def parse_selection(value: Any, where: str = "selection") -> Selection:
    data = _mapping(value, where)
    ids = _list(data, "product_ids", where, [])
    return Selection(
        id=_str(data, "id", where),
        name=_str(data, "name", where),
        sort=_int(data, "sort", where, 0),
        product_ids=tuple(str(i) for i in ids),
    )


def parse_table(value: Any, where: str = "table") -> Table:
    data = _mapping(value, where)
    number = _int(data, "number", where)
    return Table(number=number, name=_str(data, "name", where, str(number)))


def parse_payment_type(value: Any, where: str = "payment_type") -> PaymentType:
    data = _mapping(value, where)
    return PaymentType(id=_str(data, "id", where), name=_str(data, "name", where))


def parse_line_modifier(value: Any, where: str = "modifier") -> OrderLineModifier:
    data = _mapping(value, where)
    return OrderLineModifier(
        modifier_id=_str(data, "modifier_id", where),
        quantity=_int(data, "quantity", where, 1),
        unit_price=parse_money(data.get("unit_price", "0.00"), f"{where}.unit_price"),
    )


def parse_order_line(value: Any, where: str = "line") -> OrderLine:
    data = _mapping(value, where)
    return OrderLine(
        product_id=_str(data, "product_id", where),
        quantity=_int(data, "quantity", where),
        unit_price=parse_money(data.get("unit_price"), f"{where}.unit_price"),
        modifiers=_items(
            _list(data, "modifiers", where, []), parse_line_modifier, f"{where}.modifiers"
        ),
        note=_str(data, "note", where, ""),
    )


def parse_bill(value: Any, where: str = "bill") -> Bill:
    data = _mapping(value, where)
    return Bill(
        bill_id=_str(data, "bill_id", where),
        table_number=_int(data, "table_number", where),
        status=_str(data, "status", where),
        total=parse_money(data.get("total"), f"{where}.total"),
        lines=_items(_list(data, "lines", where, []), parse_order_line, f"{where}.lines"),
        references=tuple(str(r) for r in _list(data, "references", where, [])),
        paid_references=tuple(str(r) for r in _list(data, "paid_references", where, [])),
    )


def parse_send_order_result(value: Any, where: str = "SendOrder") -> SendOrderResult:
    data = _mapping(value, where)
    return SendOrderResult(
        table_number=_int(data, "table_number", where), bill_id=_str(data, "bill_id", where)
    )


def parse_pay_bill_result(value: Any, where: str = "PayBill") -> PayBillResult:
    data = _mapping(value, where)
    return PayBillResult(bill_id=_str(data, "bill_id", where), status=_str(data, "status", where))


def parse_free_table(value: Any, where: str = "GetFreeTableNumber") -> int:
    return _int(_mapping(value, where), "table_number", where)
