"""Orders: create and price them, confirm their payment, and drive their push to the POS.

Views, tasks and signal receivers call these functions; the push itself is `orders.push`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from pymongo.errors import DuplicateKeyError

import kassanet
from integrations.repository import Integration, IntegrationRepository
from integrations.services import get_service
from locations.repository import Location
from orders.pricing import PRICING_RULE, LineRequest, MenuPricer
from orders.push import OrderPusher
from orders.repository import Transaction, TransactionRepository
from orders.states import ENDED, PushStatus

logger = logging.getLogger(__name__)

CHANNELS = ("kiosk", "online", "table_qr")
SERVICE_TYPES = kassanet.SERVICE_TYPES
DEFAULT_SERVICE_TYPE = {"table_qr": "eat_in", "online": "takeaway"}
"""A kiosk order has no default: the customer chose to eat in or take away, so it must say."""
ALLOWED_SERVICE_TYPES = {
    "kiosk": ("eat_in", "takeaway"),
    "online": SERVICE_TYPES,
    "table_qr": ("eat_in",),
}


class ServiceTypeError(ValueError):
    """The order's service type is missing or not possible for its channel."""


def service_type_for(channel: str, requested: str | None) -> str:
    """The order's service type: what it asked for, or its channel's default.

    `table_qr` is always `eat_in`, `online` defaults to `takeaway`, and a kiosk order must say
    (`eat_in` or `takeaway`). Raises ServiceTypeError with what to send instead.
    """
    allowed = ALLOWED_SERVICE_TYPES[channel]
    if requested is None:
        default = DEFAULT_SERVICE_TYPE.get(channel)
        if default is None:
            raise ServiceTypeError(
                f"A {channel} order must say its service_type: {' or '.join(allowed)}."
            )
        return default
    if requested not in allowed:
        raise ServiceTypeError(
            f"A {channel} order cannot be {requested}; send {' or '.join(allowed)}."
        )
    return requested


NO_INTEGRATION = (
    "No Hendrickx or Vanhoutte integration is set up for this location; "
    "the order was not sent to a register."
)
STALLED_BATCH = 500
LOCK_SWEEP_BATCH = 1000


class PaymentMismatchError(ValueError):
    """The confirmed amount or currency is not the order's (`field` names which)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PaymentConflictError(Exception):
    """The order is already paid with another payment, or the payment paid another order."""


class NotRetryableError(Exception):
    """Only a failed push can be retried by hand."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def create_transaction(
    location: Location,
    *,
    channel: str,
    table_number: int | None,
    lines: Sequence[LineRequest],
    service_type: str | None = None,
    pricer: MenuPricer | None = None,
    transactions: TransactionRepository | None = None,
) -> Transaction:
    """Price the lines from the location's current menu and store a pending order.

    `service_type` defaults from the channel (`service_type_for`). Raises ServiceTypeError,
    or `orders.pricing.PricingError` naming each line that cannot be priced or breaks a
    modifier group's rule.
    """
    service_type = service_type_for(channel, service_type)
    priced = (pricer or MenuPricer()).price(location.id, lines)
    return (transactions or TransactionRepository()).create(
        vendor_id=location.vendor_id,
        location_id=location.id,
        currency=location.currency,
        channel=channel,
        table_number=table_number if channel == "table_qr" else None,
        lines=priced.lines,
        total=priced.total,
        now=now_utc(),
        service_type=service_type,
        pricing_rule=PRICING_RULE,
    )


@dataclass(frozen=True)
class Confirmation:
    transaction: Transaction
    first: bool  # False when it repeats a confirmation already recorded


def confirm_payment(
    txn: Transaction,
    *,
    amount: Decimal,
    currency: str,
    payment_provider: str,
    payment_reference: str,
    transactions: TransactionRepository | None = None,
    integrations: IntegrationRepository | None = None,
) -> Confirmation:
    """Record the payment and start the push to the location's register, once.

    Every way an order gets paid comes here: the payments service's `payment-confirmed`
    call and the Stripe and Viva Wallet webhooks (`orders.webhooks`), after they verified
    the payment with its provider. A repeat with the same payment changes nothing; another
    payment for an already paid order, or a (provider, reference) pair that already paid
    another order (a unique index), raises PaymentConflictError; an amount other than the
    total or another currency than the order's raises PaymentMismatchError.
    """
    transactions = transactions or TransactionRepository()
    integrations = integrations or IntegrationRepository()
    if txn.payment is not None:
        return Confirmation(_same_payment(txn, amount, payment_provider, payment_reference), False)
    if amount != txn.total:
        raise PaymentMismatchError(
            "amount", f"The amount {amount} is not the order's total {txn.total}; it must be equal."
        )
    if currency.upper() != txn.currency.upper():
        raise PaymentMismatchError(
            "currency",
            f"The currency {currency} is not the order's currency {txn.currency}; "
            "it must be equal.",
        )
    integration = choose_integration(txn.location_id, integrations)
    try:
        claimed = transactions.confirm_payment(
            txn.id,
            amount=amount,
            payment_provider=payment_provider,
            payment_reference=payment_reference,
            push_provider=integration.provider if integration else None,
            integration_id=integration.id if integration else None,
            pos_message="" if integration else NO_INTEGRATION,
            now=now_utc(),
        )
    except DuplicateKeyError:
        raise PaymentConflictError(
            f"The payment {payment_provider} {payment_reference} already paid another order."
        ) from None
    if claimed is None:  # a concurrent confirmation won
        current = transactions.get(txn.id)
        assert current is not None
        return Confirmation(
            _same_payment(current, amount, payment_provider, payment_reference), False
        )
    if integration is None:
        logger.warning("Order %s is paid but not pushed: %s", claimed.id, NO_INTEGRATION)
        return Confirmation(claimed, True)
    if not integration.connected:
        held = OrderPusher(transactions=transactions, integrations=integrations).hold(
            claimed, "the register is disconnected; kept until the connection is back"
        )
        return Confirmation(held or claimed, True)
    enqueue_push(claimed)
    return Confirmation(claimed, True)


def _same_payment(txn: Transaction, amount: Decimal, provider: str, reference: str) -> Transaction:
    payment = txn.payment
    assert payment is not None
    if (payment["amount"], payment["provider"], payment["reference"]) != (
        amount,
        provider,
        reference,
    ):
        raise PaymentConflictError(
            f"The order is already paid ({payment['provider']} {payment['reference']})."
        )
    return txn


def choose_integration(
    location_id: str, integrations: IntegrationRepository | None = None
) -> Integration | None:
    """The location's connected integration (the first provider's if both), else any."""
    candidates = (integrations or IntegrationRepository()).list_for_location(location_id)
    connected = [i for i in candidates if i.connected]
    if connected:
        return connected[0]
    return candidates[0] if candidates else None


def enqueue_push(txn: Transaction) -> None:
    """Enqueue the task for the push's current state (after the state was written)."""
    from orders.tasks import enqueue_for_status

    if txn.push is not None:
        enqueue_for_status(txn.id, txn.push.status)


def retry_pos(txn: Transaction, pusher: OrderPusher | None = None) -> Transaction:
    """Push a failed order again, from the step that failed."""
    push = txn.push
    if push is None or push.status != PushStatus.FAILED:
        raise NotRetryableError(
            f"Only a failed push can be retried; this one is {push.status if push else 'not pushed'}."
        )
    resumed = (pusher or OrderPusher()).resume(txn, detail="retried by hand")
    if resumed is None:
        raise NotRetryableError("The push changed meanwhile; reload the order.")
    enqueue_push(resumed)
    return resumed


def requeue_orders(integration_id: str, pusher: OrderPusher | None = None) -> int:
    """Push again every order kept with `need_requeue` for the integration; returns how many."""
    pusher = pusher or OrderPusher()
    count = 0
    for transaction_id in pusher.transactions.waiting_for_requeue(integration_id):
        txn = pusher.transactions.get(transaction_id)
        resumed = pusher.resume(txn, detail="connection restored") if txn else None
        if resumed is not None:
            enqueue_push(resumed)
            count += 1
    if count:
        logger.info("Re-queued %d order(s) of integration %s", count, integration_id)
    return count


def resume_stalled_pushes(pusher: OrderPusher | None = None) -> int:
    """Re-enqueue pushes that have not advanced for ORDER_PUSH_STALL_SECONDS.

    Progress then never depends on the broker alone (a task lost with its worker is only
    redelivered after Redis' visibility timeout). Orders kept with `need_requeue` whose
    integration is connected again (the restore raced with the order) are re-queued too.
    """
    pusher = pusher or OrderPusher()
    now = pusher.clock()
    due_before = now - timedelta(seconds=settings.ORDER_PUSH_STALL_SECONDS)
    count = 0
    for transaction_id, due_at in pusher.transactions.stalled(
        due_before=due_before, limit=STALLED_BATCH
    ):
        if pusher.transactions.claim_stalled(transaction_id, due_at, now=now):
            txn = pusher.transactions.get(transaction_id)
            if txn is not None:
                enqueue_push(txn)
                count += 1
    for integration_id in pusher.transactions.integrations_with_requeue(due_before=due_before):
        integration = pusher.integrations.get_by_id(integration_id)
        if integration is not None and integration.connected:
            count += requeue_orders(integration_id, pusher)
    if count:
        logger.warning("Resumed %d stalled order push(es)", count)
    release_ended_orders_locks(pusher)
    return count


def release_ended_orders_locks(pusher: OrderPusher | None = None) -> int:
    """Free table locks still held by orders that ended (paid or failed) or no longer exist.

    An order releases its table right after its last transition; a worker killed between
    the two would leave the table locked until the lock expires. Each release is
    conditional on the claim that was read, so a newer claim (a failed order retried
    meanwhile) is never freed.
    """
    pusher = pusher or OrderPusher()
    locks = pusher.locks.owned(limit=LOCK_SWEEP_BATCH)
    statuses = pusher.transactions.push_statuses([lock.owner for lock in locks if lock.owner])
    released = 0
    for lock in locks:
        assert lock.owner is not None
        status = statuses.get(lock.owner)
        if lock.owner in statuses and status not in ENDED:
            continue
        released += pusher.locks.release(
            lock.location_id,
            lock.provider,
            lock.table_number,
            lock.owner,
            now=pusher.clock(),
            claimed_at=lock.claimed_at,
        )
    if released:
        logger.warning("Released %d table lock(s) still held by ended orders", released)
    return released


def retest_interval(failures: int) -> float:
    """Seconds until the next re-test after `failures` failed ones: ORDER_PUSH_BEAT_SECONDS,
    doubling, at most POS_RETEST_MAX_INTERVAL_SECONDS."""
    base = float(settings.ORDER_PUSH_BEAT_SECONDS)
    cap = float(settings.POS_RETEST_MAX_INTERVAL_SECONDS)
    return min(cap, base * 2 ** min(failures, 32))


def claim_due_retests(
    now: datetime | None = None, integrations: IntegrationRepository | None = None
) -> list[str]:
    """The disconnected integrations to re-test now, each with its next re-test scheduled.

    Each integration backs off on its own (`retest_interval`), so a register that stays down
    costs fewer and fewer calls; a successful test (periodic or from the API) resets it.
    """
    repository = integrations or IntegrationRepository()
    now = now or now_utc()
    claimed = []
    for integration_id, failures in repository.due_retests(now):
        next_at = now + timedelta(seconds=retest_interval(failures))
        if repository.claim_retest(integration_id, failures, now, next_at):
            claimed.append(integration_id)
    return claimed


def test_integration_connection(integration_id: str) -> bool | None:
    """Re-test one integration (a success after a disconnection re-queues its orders)."""
    integration = IntegrationRepository().get_by_id(integration_id)
    if integration is None or integration.connected:
        return None
    return get_service(integration.provider).test_connection(integration).connected
