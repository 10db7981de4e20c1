"""Shared steps of the orders tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from integrations.repository import Integration
from locations.repository import Location
from orders import services
from orders.pricing import LineRequest, ModifierRequest
from orders.repository import Transaction, TransactionRepository
from tests.orders.conftest import Menu


def lines_for(menu: Menu, *products: tuple[str, int, Sequence[str]]) -> list[LineRequest]:
    return [
        LineRequest(menu.items[pid], qty, [ModifierRequest(menu.modifiers[m], 1) for m in mods])
        for pid, qty, mods in products
    ]


def paid_order(
    location: Location,
    integration: Integration,
    menu: Menu,
    now: datetime,
    *,
    products: Sequence[tuple[str, int, Sequence[str]]] = (("P1", 2, ()),),
    channel: str = "kiosk",
    table_number: int | None = None,
    service_type: str | None = None,
) -> Transaction:
    """A pending order whose payment is recorded with its push queued (no task enqueued)."""
    txn = services.create_transaction(
        location,
        channel=channel,
        table_number=table_number,
        lines=lines_for(menu, *products),
        service_type=service_type or ("takeaway" if channel == "kiosk" else None),
    )
    confirmed = TransactionRepository().confirm_payment(
        txn.id,
        amount=txn.total,
        payment_provider="stripe",
        payment_reference=f"pi_{txn.id}",
        push_provider=integration.provider,
        integration_id=integration.id,
        pos_message="",
        now=now,
    )
    assert confirmed is not None
    return confirmed


class StaleOnce(TransactionRepository):
    """Answers the first read with a snapshot taken earlier: what a duplicate task (beat's
    stall resumption, a redelivery) read just before another worker moved the push on."""

    def __init__(self, snapshot: Transaction) -> None:
        super().__init__()
        self._snapshot: Transaction | None = snapshot

    def get(self, transaction_id: str) -> Transaction | None:
        snapshot, self._snapshot = self._snapshot, None
        return snapshot or super().get(transaction_id)
