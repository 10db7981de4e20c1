"""The order push's states and the transitions allowed between them (docs/orders.md).

A transaction's `external_data.{provider}.status` moves along::

    queued -> table_assigned -> sending -> order_sent -> bill_checked -> paying -> paid

`sending` and `paying` are held under a lease while SendOrder / PayBill are on the wire; a
state whose lease ran out (its worker died) is taken over by re-entering the same state. Any
in-flight state may end in `failed` (a permanent error; `retry-pos` resumes it) or
`need_requeue` (the register was unreachable; resumed when the connection is back). Both
remember the state to resume from.
"""

from __future__ import annotations

from enum import StrEnum


class PushStatus(StrEnum):
    QUEUED = "queued"
    TABLE_ASSIGNED = "table_assigned"
    SENDING = "sending"
    ORDER_SENT = "order_sent"
    BILL_CHECKED = "bill_checked"
    PAYING = "paying"
    PAID = "paid"
    FAILED = "failed"
    NEED_REQUEUE = "need_requeue"


S = PushStatus

# The states a worker moves forward on its own.
IN_FLIGHT: frozenset[PushStatus] = frozenset(
    {S.QUEUED, S.TABLE_ASSIGNED, S.SENDING, S.ORDER_SENT, S.BILL_CHECKED, S.PAYING}
)
# States held under a lease: the register may have acted without our recording it.
LEASED: frozenset[PushStatus] = frozenset({S.SENDING, S.PAYING})
# States whose order holds (or must re-claim) its table lock.
HOLDS_TABLE: frozenset[PushStatus] = frozenset(
    {S.TABLE_ASSIGNED, S.SENDING, S.ORDER_SENT, S.BILL_CHECKED, S.PAYING}
)
# States whose order keeps its table lock: need_requeue resumes on the same table.
KEEPS_TABLE: frozenset[PushStatus] = HOLDS_TABLE | {S.NEED_REQUEUE}
# States an order ended in: its table lock is released (retry-pos re-claims a failed one's).
ENDED: frozenset[PushStatus] = frozenset({S.PAID, S.FAILED})
_STOPPED = {S.FAILED, S.NEED_REQUEUE}

TRANSITIONS: dict[PushStatus, frozenset[PushStatus]] = {
    S.QUEUED: frozenset({S.TABLE_ASSIGNED, *_STOPPED}),
    S.TABLE_ASSIGNED: frozenset({S.SENDING, *_STOPPED}),
    S.SENDING: frozenset({S.SENDING, S.ORDER_SENT, *_STOPPED}),
    S.ORDER_SENT: frozenset({S.BILL_CHECKED, S.PAID, *_STOPPED}),
    S.BILL_CHECKED: frozenset({S.PAYING, *_STOPPED}),
    S.PAYING: frozenset({S.PAYING, S.PAID, *_STOPPED}),
    S.PAID: frozenset(),
    # Resuming goes back to the state the push stopped in.
    S.FAILED: IN_FLIGHT,
    S.NEED_REQUEUE: IN_FLIGHT,
}


class IllegalTransition(ValueError):
    """A transition the state machine does not allow (a programming error)."""


def check_transition(current: PushStatus, target: PushStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"an order push cannot go from {current} to {target}")
