"""The order push: a paid order reaches its register as a paid bill, exactly once.

`OrderPusher.advance(transaction_id, stages)` reads the transaction and performs the step
its push state asks for, as long as that state is one of `stages` (the task that called it
handles those; the caller enqueues the task of any other state). Every step ends in one
conditional transition (expected status + version, see `TransactionRepository.transition`),
so two workers on the same order never both act: the loser re-reads and follows the winner.

Side effects on the register are made safe to repeat:
- a table is claimed under a lock (`orders.locks`) before it is used;
- SendOrder and PayBill happen under a lease (`sending`, `paying`); a worker that finds the
  lease expired (the owner died) or dropped (the call failed) reads the bill first and only
  sends / pays when the bill shows it was not done (protocol page, section 7).
See docs/orders.md for the state diagram and the exactly-once argument.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

import kassanet
from integrations.repository import DISCONNECTED, Integration, IntegrationRepository
from integrations.services import get_service
from orders.locks import TableLockRepository
from orders.pricing import PRICING_RULE, stored_line_total
from orders.repository import PushState, Transaction, TransactionRepository
from orders.states import HOLDS_TABLE, KEEPS_TABLE, LEASED, PushStatus

logger = logging.getLogger(__name__)
S = PushStatus
TABLE_QR = "table_qr"
LOG_EVENT = "order_push"
MISMATCH = "Total amount mismatch"
LEGACY_PRICING = "Priced under the old modifier rule"
LEGACY_PRICING_CODE = "PRICED_PER_LINE"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PushConfig:
    lock_ttl: timedelta
    max_retries: int
    retry_base: float
    retry_max: float
    table_retry: float
    table_wait: timedelta
    lease: timedelta
    client_retry: kassanet.RetryPolicy

    @classmethod
    def from_settings(cls) -> PushConfig:
        return cls(
            lock_ttl=timedelta(seconds=settings.ORDER_TABLE_LOCK_SECONDS),
            max_retries=settings.ORDER_PUSH_MAX_RETRIES,
            retry_base=settings.ORDER_PUSH_RETRY_BASE_SECONDS,
            retry_max=settings.ORDER_PUSH_RETRY_MAX_SECONDS,
            table_retry=settings.ORDER_PUSH_TABLE_RETRY_SECONDS,
            table_wait=timedelta(seconds=settings.ORDER_PUSH_TABLE_WAIT_SECONDS),
            lease=timedelta(seconds=settings.ORDER_PUSH_LEASE_SECONDS),
            client_retry=kassanet.RetryPolicy(
                max_attempts=settings.ORDER_PUSH_CLIENT_ATTEMPTS,
                initial_delay=settings.ORDER_PUSH_CLIENT_RETRY_DELAY,
                max_delay=max(settings.ORDER_PUSH_CLIENT_RETRY_DELAY, 4.0),
                total_budget=settings.ORDER_PUSH_CLIENT_RETRY_BUDGET,
            ),
        )

    def backoff(self, errors: int, jitter: Callable[[float], float]) -> float:
        """Capped exponential backoff with jitter after the `errors`-th consecutive error."""
        return jitter(min(self.retry_max, self.retry_base * 2 ** max(errors - 1, 0)))


@dataclass(frozen=True)
class Outcome:
    """Where a push stands after `advance`: its status, and when to run again (if at all)."""

    status: PushStatus | None
    retry_in: float | None = None


class _Stop(Exception):
    """A step ended the run: carries the outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


ClientFactory = Callable[[Integration, kassanet.RetryPolicy], kassanet.KassanetClient]


_CLIENTS: dict[tuple[str, datetime, kassanet.RetryPolicy], kassanet.KassanetClient] = {}
_MAX_CLIENTS = 64


def _service_client(
    integration: Integration, retry: kassanet.RetryPolicy
) -> kassanet.KassanetClient:
    """A client per integration (and credentials version), kept for the process' life.

    Building an httpx client costs an SSL context; a kept one also keeps its connection to
    the register alive between the steps of a push. Prefork children each have their own.
    """
    key = (integration.id, integration.updated_at, retry)
    client = _CLIENTS.get(key)
    if client is None:
        if len(_CLIENTS) >= _MAX_CLIENTS:
            _CLIENTS.pop(next(iter(_CLIENTS))).close()
        client = _CLIENTS[key] = get_service(integration.provider).client(integration, retry=retry)
    return client


def _error_text(error: kassanet.KassanetError) -> str:
    return error.message


def keeps_table(push: PushState | None, table: int) -> bool:
    """Whether the push, in its current state, owns the lock of `table`."""
    return push is not None and push.status in KEEPS_TABLE and push.table_number == table


class OrderPusher:
    def __init__(
        self,
        *,
        transactions: TransactionRepository | None = None,
        locks: TableLockRepository | None = None,
        integrations: IntegrationRepository | None = None,
        config: PushConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[float], float] = kassanet.default_jitter,
        client_factory: ClientFactory = _service_client,
    ) -> None:
        self.transactions = transactions or TransactionRepository()
        self.locks = locks or TableLockRepository()
        self.integrations = integrations or IntegrationRepository()
        self.config = config or PushConfig.from_settings()
        self.clock = clock
        self.jitter = jitter
        self._client_factory = client_factory

    # -- the loop -----------------------------------------------------------------------------

    def advance(self, transaction_id: str, stages: Collection[PushStatus]) -> Outcome:
        """Run the steps of `stages` until the push leaves them, waits, or stops."""
        run = _Run(self, transaction_id)
        try:
            txn = run.load()
            while True:
                push = txn.push
                if push is None:
                    return Outcome(None)
                if push.status not in stages:
                    return Outcome(push.status)
                try:
                    try:
                        run.step(txn)
                    except kassanet.KassanetError as error:
                        return run.on_error(error)
                except _Continue:
                    txn = run.load()
                    continue
                assert run.txn is not None
                txn = run.txn
        except _Stop as stop:
            return stop.outcome

    # -- resuming -----------------------------------------------------------------------------

    def resume(self, txn: Transaction, *, detail: str) -> Transaction | None:
        """Move a failed or need_requeue push back to the state it stopped in."""
        push = txn.push
        if push is None or push.status not in (S.FAILED, S.NEED_REQUEUE):
            return None
        target = push.resume_status or S.QUEUED
        resumed = self.transactions.transition(
            txn,
            target,
            now=self.clock(),
            detail=detail,
            fields={"lease_until": None, "resume_status": None, "errors": 0},
            count_attempt=False,
            top={"need_requeue": False},
        )
        if resumed is not None:
            self._log(resumed, "info", f"{detail}: {push.status} -> {target}")
        return resumed

    def hold(
        self,
        txn: Transaction,
        detail: str,
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> Transaction | None:
        """Keep the push with `need_requeue` until the register's connection is back."""
        push = txn.push
        assert push is not None
        result = self.transactions.transition(
            txn,
            S.NEED_REQUEUE,
            now=self.clock(),
            detail=detail,
            fields={
                "resume_status": push.status.value,
                "lease_until": None,
                "errMessage": message or detail,
                "errCode": code,
            },
            error_code=code,
            error_message=message,
            count_attempt=message is not None,
            top={"need_requeue": True},
        )
        if result is not None:
            self._log(result, "error", f"{push.status} -> need_requeue: {message or detail}")
        return result

    def _log(self, txn: Transaction, level: str, message: str, **context: Any) -> None:
        push = txn.push
        assert push is not None
        text = f"Order {txn.id}: {message}"
        logger.log(logging.getLevelNamesMapping()[level.upper()], "%s", text)
        self.integrations.append_log(
            push.integration_id,
            level,
            LOG_EVENT,
            text,
            transaction_id=txn.id,
            status=push.status.value,
            table_number=push.table_number,
            **context,
        )


class _Run:
    """One `advance` call: the transaction, its integration and a register client."""

    def __init__(self, pusher: OrderPusher, transaction_id: str) -> None:
        self.p = pusher
        self.transaction_id = transaction_id
        self.txn: Transaction | None = None
        self._integration: Integration | None = None
        self._client: kassanet.KassanetClient | None = None

    def load(self) -> Transaction:
        txn = self.p.transactions.get(self.transaction_id)
        if txn is None:
            raise _Stop(Outcome(None))
        self.txn = txn
        return txn

    @property
    def integration(self) -> Integration:
        if self._integration is None:
            txn = self.txn
            assert txn is not None and txn.push is not None
            integration = self.p.integrations.get_by_id(txn.push.integration_id)
            if integration is None:
                self.fail(
                    txn, None, f"The {txn.push.provider} integration of this location was removed."
                )
            assert integration is not None
            self._integration = integration
        return self._integration

    @property
    def client(self) -> kassanet.KassanetClient:
        if self._client is None:
            self._client = self.p._client_factory(self.integration, self.p.config.client_retry)
        return self._client

    # -- dispatch -----------------------------------------------------------------------------

    def step(self, txn: Transaction) -> None:
        push = txn.push
        assert push is not None
        if push.status in HOLDS_TABLE:
            self.hold_table(txn)
        handler = {
            S.QUEUED: self.assign_table,
            S.TABLE_ASSIGNED: self.start_sending,
            S.SENDING: self.resume_sending,
            S.ORDER_SENT: self.check_bill,
            S.BILL_CHECKED: self.start_paying,
            S.PAYING: self.resume_paying,
        }[push.status]
        handler(txn)

    def moved(self, result: Transaction | None, message: str, level: str = "info") -> Transaction:
        """After a transition: log it, or (another worker won) re-read and carry on."""
        if result is None:
            raise _Continue
        self.p._log(result, level, message)
        self.txn = result
        return result

    # -- table --------------------------------------------------------------------------------

    def refuse_legacy_pricing(self, txn: Transaction) -> None:
        """Fail, before it reaches the register, an order priced under the old rule.

        Orders stored before modifiers counted per unit (no `pricing_rule`) were charged a
        modifier once per line; where that differs from what the register will bill, the
        customer paid another amount than the bill's total, so the order is failed with a
        message that says why, not sent (docs/orders.md, "Pricing").
        """
        if txn.pricing_rule == PRICING_RULE:
            return
        register_total = sum((stored_line_total(line) for line in txn.lines), Decimal(0))
        if register_total != txn.total:
            self.fail(
                txn,
                LEGACY_PRICING_CODE,
                f"{LEGACY_PRICING}: the order was priced "
                f"{kassanet.format_money(txn.total)} with each modifier counted once per line, "
                f"but the register bills {kassanet.format_money(register_total)} (modifiers "
                "per unit). It was not sent; refund the difference or create the order again.",
            )

    def assign_table(self, txn: Transaction) -> None:
        push = txn.push
        assert push is not None
        self.refuse_legacy_pricing(txn)
        now = self.p.clock()
        if txn.channel == TABLE_QR:
            table = self.claim_requested_table(txn, now)
        else:
            table = self.claim_free_table(txn, now)
        if table is None:
            self.wait_for_table(txn, now)
            return
        result = self.p.transactions.transition(
            txn,
            S.TABLE_ASSIGNED,
            now=now,
            detail=f"table {table} locked",
            fields={"table_number": table, "table_lock": {"claimed_at": now, "released_at": None}},
        )
        if result is None:
            self.drop_claim(txn, table, now)
            raise _Continue
        self.p.integrations.update_settings(
            push.integration_id, **{f"tables_usage.{table}": {"last_used": now}}
        )
        self.moved(result, f"queued -> table_assigned (table {table})")

    def claim_requested_table(self, txn: Transaction, now: datetime) -> int | None:
        assert txn.push is not None and txn.table_number is not None
        return txn.table_number if self.claim(txn, txn.table_number, now) else None

    def claim_free_table(self, txn: Transaction, now: datetime) -> int | None:
        """The register's free table if we can lock it, else the least recently used one."""
        assert txn.push is not None
        try:
            choice: int | None = self.client.get_free_table_number()
        except kassanet.NotFoundError:
            choice = None  # NO_FREE_TABLE: every table has an open bill
        if choice is not None and self.claim(txn, choice, now):
            return choice
        settings_ = self.integration.settings
        usage = settings_.get("tables_usage") or {}
        held = self.p.locks.held(txn.location_id, txn.push.provider, now=now)
        oldest = datetime.min.replace(tzinfo=UTC)
        candidates = sorted(
            (
                t
                for t in settings_.get("tables") or []
                if t != choice and held.get(t, txn.id) == txn.id
            ),
            key=lambda t: (usage.get(str(t), {}).get("last_used") or oldest, t),
        )
        for table in candidates:
            if not self.claim(txn, table, now):
                continue
            if self.table_is_clear(txn, table):
                return int(table)
            self.drop_claim(txn, table, now)
        return None

    def table_is_clear(self, txn: Transaction, table: int) -> bool:
        """A fallback table is only used when the register has no open bill of others on it."""
        try:
            bill = self.client.get_bill(table)
        except kassanet.NotFoundError:
            return True
        return not bill.is_open or set(bill.references) <= {txn.id}

    def claim(self, txn: Transaction, table: int, now: datetime) -> bool:
        assert txn.push is not None
        return self.p.locks.claim(
            txn.location_id, txn.push.provider, table, txn.id, now=now, ttl=self.p.config.lock_ttl
        )

    def hold_table(self, txn: Transaction) -> None:
        """Re-claim (refresh) the order's table lock; wait while another order holds it.

        The claim is only valid for the state `txn` was read in. A duplicate task (beat's stall
        resumption, a redelivery) may have read the order just before another worker paid it
        and released the table; its claim would then lock the table for a paid order until the
        lock expires. So the state is checked AFTER the claim: if the push moved on meanwhile,
        the claim is undone unless the current state still owns the table, and the run re-reads
        the order. (A state read after the claim that still owns the table is released later by
        whoever ends the order, hence after this claim too.)
        """
        push = txn.push
        assert push is not None and push.table_number is not None
        now = self.p.clock()
        if not self.claim(txn, push.table_number, now):
            self.wait_for_table(txn, now)
        if not self.p.transactions.is_current(txn):
            self.drop_claim(txn, push.table_number, now)
            raise _Continue

    def drop_claim(self, txn: Transaction, table: int, now: datetime) -> None:
        """Undo this run's claim of `table` (made at `now`) unless the order, re-read after
        the claim, owns that table in its current state (then the claim only refreshed it)."""
        assert txn.push is not None
        current = self.p.transactions.get(txn.id)
        if not keeps_table(current.push if current else None, table):
            self.p.locks.release(
                txn.location_id, txn.push.provider, table, txn.id, now=now, claimed_at=now
            )

    def wait_for_table(self, txn: Transaction, now: datetime) -> None:
        push = txn.push
        assert push is not None
        # Since the push entered its current state.
        waiting_since = push.history[-1]["at"] if push.history else now
        if now - waiting_since > self.p.config.table_wait:
            self.fail(
                txn,
                "NO_FREE_TABLE",
                f"No free table on the register for {self.p.config.table_wait.total_seconds():.0f} s.",
            )
        delay = self.p.jitter(self.p.config.table_retry)
        self.p.transactions.postpone(txn, due_at=now + timedelta(seconds=delay))
        raise _Stop(Outcome(push.status, retry_in=delay))

    def release_table(self, txn: Transaction) -> None:
        push = txn.push
        assert push is not None
        if push.table_number is not None:
            self.p.locks.release(
                txn.location_id, push.provider, push.table_number, txn.id, now=self.p.clock()
            )

    # -- SendOrder ----------------------------------------------------------------------------

    def start_sending(self, txn: Transaction) -> None:
        claimed = self.take_lease(txn, S.SENDING, "sending the order")
        self.send_order(claimed)

    def resume_sending(self, txn: Transaction) -> None:
        claimed = self.take_over(txn)
        push = claimed.push
        assert push is not None and push.table_number is not None
        bill = self.bill_or_none(push.table_number)
        if bill is not None and claimed.id in bill.references:
            self.sent(claimed, bill.bill_id, "the register already has the order")
            return
        self.send_order(claimed)

    def send_order(self, txn: Transaction) -> None:
        push = txn.push
        assert push is not None and push.table_number is not None
        self.refuse_legacy_pricing(txn)
        lines = []
        for index, line in enumerate(txn.lines):
            product_id = line["external_ids"].get(push.provider)
            if not product_id:
                self.fail(
                    txn,
                    "UNKNOWN_PRODUCT",
                    f"Line {index} ({line['name']}) has no {push.provider} product id; "
                    "import the menu again.",
                )
            modifiers = []
            for modifier in line["modifiers"]:
                modifier_id = modifier["external_ids"].get(push.provider)
                if not modifier_id:
                    self.fail(
                        txn,
                        "UNKNOWN_MODIFIER",
                        f"Modifier {modifier['name']} of line {index} has no {push.provider} "
                        "id; import the menu again.",
                    )
                modifiers.append(
                    kassanet.OrderLineModifier(
                        modifier_id, modifier["quantity"], modifier["unit_price"]
                    )
                )
            lines.append(
                kassanet.OrderLine(
                    product_id, line["quantity"], line["unit_price"], tuple(modifiers), line["note"]
                )
            )
        result = self.client.send_order(
            txn.id, push.table_number, lines, service_type=txn.service_type
        )
        self.sent(txn, result.bill_id, "order sent")

    def sent(self, txn: Transaction, bill_id: str, detail: str) -> None:
        result = self.p.transactions.transition(
            txn,
            S.ORDER_SENT,
            now=self.p.clock(),
            detail=detail,
            fields={"bill_id": bill_id, "lease_until": None, "errMessage": None, "errCode": None},
        )
        self.moved(result, f"sending -> order_sent (bill {bill_id})")

    # -- GetBill ------------------------------------------------------------------------------

    def check_bill(self, txn: Transaction) -> None:
        push = txn.push
        assert push is not None and push.table_number is not None
        bill = self.client.get_bill(push.table_number)
        if txn.id in bill.paid_references:
            self.paid(txn, bill.bill_id, "the register's bill is already paid by this order")
            return
        if txn.id not in bill.references or not bill.is_open:
            self.fail(
                txn,
                "BILL_NOT_OPEN",
                f"The register's bill {bill.bill_id} on table {push.table_number} is "
                f"{bill.status} and does not hold this order open; check the register.",
            )
        if bill.total != txn.total:
            self.fail(
                txn,
                "TOTAL_AMOUNT_MISMATCH",
                f"{MISMATCH}: register bill {kassanet.format_money(bill.total)} vs order "
                f"{kassanet.format_money(txn.total)}",
                level="critical",
            )
        result = self.p.transactions.transition(
            txn,
            S.BILL_CHECKED,
            now=self.p.clock(),
            detail=f"bill {bill.bill_id} total {kassanet.format_money(bill.total)} matches",
            fields={"bill_id": bill.bill_id},
        )
        self.moved(result, "order_sent -> bill_checked")

    # -- PayBill ------------------------------------------------------------------------------

    def start_paying(self, txn: Transaction) -> None:
        claimed = self.take_lease(txn, S.PAYING, "paying the bill")
        self.pay(claimed)

    def resume_paying(self, txn: Transaction) -> None:
        """A `paying` left behind: pay only if the bill is open without our payment."""
        claimed = self.take_over(txn)
        push = claimed.push
        assert push is not None and push.table_number is not None
        bill = self.bill_or_none(push.table_number)
        if bill is not None and claimed.id in bill.paid_references:
            self.paid(claimed, bill.bill_id, "the register already took this payment")
            return
        if bill is None or not bill.is_open or claimed.id not in bill.references:
            self.fail(
                claimed,
                "BILL_NOT_OPEN",
                f"Paying was interrupted and the register's bill on table {push.table_number} "
                "is no longer open with this order; check the register before retrying.",
            )
        self.pay(claimed)

    def pay(self, txn: Transaction) -> None:
        push = txn.push
        assert push is not None and push.table_number is not None
        payment_type_id = self.integration.settings.get("payment_type_id")
        if not payment_type_id:
            self.fail(
                txn,
                "NO_PAYMENT_TYPE",
                "The register's Webshop payment type is unknown; test the connection.",
            )
        result = self.client.pay_bill(txn.id, push.table_number, str(payment_type_id), txn.total)
        self.paid(txn, result.bill_id, f"paid {kassanet.format_money(txn.total)}")

    def paid(self, txn: Transaction, bill_id: str, detail: str) -> None:
        push = txn.push
        assert push is not None
        now = self.p.clock()
        result = self.p.transactions.transition(
            txn,
            S.PAID,
            now=now,
            detail=detail,
            fields={
                "bill_id": bill_id,
                "lease_until": None,
                "errMessage": None,
                "errCode": None,
                "table_lock.released_at": now,
            },
        )
        self.moved(result, f"{push.status} -> paid (bill {bill_id}): {detail}")
        self.release_table(txn)
        raise _Stop(Outcome(S.PAID))

    # -- leases -------------------------------------------------------------------------------

    def take_lease(self, txn: Transaction, target: PushStatus, detail: str) -> Transaction:
        push = txn.push
        assert push is not None
        now = self.p.clock()
        result = self.p.transactions.transition(
            txn,
            target,
            now=now,
            detail=detail,
            fields={"lease_until": now + self.p.config.lease},
            count_attempt=False,
        )
        return self.moved(result, f"{push.status} -> {target}")

    def take_over(self, txn: Transaction) -> Transaction:
        """Claim a leased state whose lease ran out or was dropped; wait while it is live."""
        push = txn.push
        assert push is not None and push.status in LEASED
        now = self.p.clock()
        if push.lease_until is not None and push.lease_until > now:
            delay = (push.lease_until - now).total_seconds() + 0.1
            self.p.transactions.postpone(txn, due_at=push.lease_until)
            raise _Stop(Outcome(push.status, retry_in=delay))
        result = self.p.transactions.transition(
            txn,
            push.status,
            now=now,
            detail="resuming: reading the bill before acting again",
            fields={"lease_until": now + self.p.config.lease},
            count_attempt=False,
        )
        return self.moved(result, f"{push.status}: resuming after an interruption", "warning")

    def bill_or_none(self, table: int) -> kassanet.Bill | None:
        try:
            return self.client.get_bill(table)
        except kassanet.NotFoundError:
            return None

    # -- errors -------------------------------------------------------------------------------

    def on_error(self, error: kassanet.KassanetError) -> Outcome:
        txn = self.txn
        assert txn is not None and txn.push is not None
        push = txn.push
        message = _error_text(error)
        if isinstance(error, kassanet.TransportError):
            return self.unreachable(txn, error.code, message)
        if error.retryable:
            if push.errors + 1 > self.p.config.max_retries:
                return self.unreachable(txn, error.code, message)
            delay = self.p.config.backoff(push.errors + 1, self.p.jitter)
            now = self.p.clock()
            recorded = self.p.transactions.record_error(
                txn,
                now=now,
                code=error.code,
                message=message,
                due_at=now + timedelta(seconds=delay),
            )
            if recorded is not None:
                self.p._log(
                    recorded,
                    "warning",
                    f"{push.status}: transient register error ({message}); "
                    f"retry {push.errors + 1}/{self.p.config.max_retries} in {delay:.1f} s",
                )
            return Outcome(push.status, retry_in=delay)
        self.fail(txn, error.code, message)
        raise AssertionError("fail() always raises")

    def unreachable(self, txn: Transaction, code: str | None, message: str) -> Outcome:
        """Keep the order for later and mark the register disconnected."""
        push = txn.push
        assert push is not None
        result = self.p.hold(
            txn,
            "the register is unreachable; kept until the connection is back",
            code=code,
            message=message,
        )
        if result is None:
            raise _Continue
        self.p.integrations.set_connection(
            push.integration_id,
            DISCONNECTED,
            f"Disconnected: the register is unreachable ({message})",
        )
        return Outcome(S.NEED_REQUEUE)

    def fail(self, txn: Transaction, code: str | None, message: str, level: str = "error") -> None:
        """A permanent error: the order shows it, its table is freed, nothing is paid."""
        push = txn.push
        assert push is not None
        now = self.p.clock()
        fields: dict[str, Any] = {
            "resume_status": push.status.value,
            "lease_until": None,
            "errMessage": message,
            "errCode": code,
        }
        if push.table_number is not None:
            fields["table_lock.released_at"] = now
        result = self.p.transactions.transition(
            txn,
            S.FAILED,
            now=now,
            detail="permanent error",
            fields=fields,
            error_code=code,
            error_message=message,
        )
        if result is None:
            raise _Continue
        self.p._log(result, level, f"{push.status} -> failed: {message}", code=code)
        self.release_table(txn)
        raise _Stop(Outcome(S.FAILED))


class _Continue(Exception):
    """Another worker moved the push first: re-read it and carry on from there."""
