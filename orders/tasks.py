"""Celery tasks of the order push. Each takes a transaction id and is safe to run twice:
it performs the step the stored push state asks for (orders.push), or nothing.

- `PushKassanetOrderJob` (default): table assignment and SendOrder;
- `GetKassanetBillJob` (default): GetBill and the total check;
- `PayKassanetBillJob` (payments-medium): PayBill;
- beat, every ORDER_PUSH_BEAT_SECONDS: `ResumeStalledOrderPushesJob` (default) and
  `CheckDisconnectedIntegrationsJob` (connection-tests), which fans out
  `TestKassanetConnectionJob` on the `connection-tests` queue, off the queues that carry
  order pushes, for each disconnected integration whose backoff is over.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from orders import services
from orders.push import OrderPusher, utcnow
from orders.repository import TransactionRepository
from orders.states import ENDED, IN_FLIGHT, PushStatus
from upvendo.celery import QUEUE_CONNECTION_TESTS, QUEUE_DEFAULT, QUEUE_PAYMENTS

S = PushStatus
PUSH_STAGES = frozenset({S.QUEUED, S.TABLE_ASSIGNED, S.SENDING})
BILL_STAGES = frozenset({S.ORDER_SENT})
PAY_STAGES = frozenset({S.BILL_CHECKED, S.PAYING})


def _advance(task: Task, transaction_id: str, stages: frozenset[PushStatus]) -> str | None:
    outcome = OrderPusher().advance(transaction_id, stages)
    if outcome.retry_in is not None:
        queue = _QUEUES[task.name]
        raise task.retry(countdown=outcome.retry_in, max_retries=None, queue=queue)
    if outcome.status in IN_FLIGHT:
        enqueue_for_status(transaction_id, outcome.status)
    elif outcome.status in ENDED:
        wake_order_waiting_for_a_table(transaction_id)
    return outcome.status.value if outcome.status else None


def wake_order_waiting_for_a_table(transaction_id: str) -> str | None:
    """An order ended and let go of its table: push the location's longest-waiting order now,
    rather than when its next poll for a free table comes round (ORDER_PUSH_TABLE_RETRY_SECONDS).
    Its scheduled poll still runs later and then finds nothing to do."""
    repository = TransactionRepository()
    ended = repository.get(transaction_id)
    if ended is None:
        return None
    woken = repository.wake_oldest_waiting(ended.location_id, now=utcnow())
    if woken is not None:
        enqueue_for_status(woken, S.QUEUED)
    return woken


@shared_task(bind=True, name="PushKassanetOrderJob")
def push_kassanet_order_job(self: Task, transaction_id: str) -> str | None:
    return _advance(self, transaction_id, PUSH_STAGES)


@shared_task(bind=True, name="GetKassanetBillJob")
def get_kassanet_bill_job(self: Task, transaction_id: str) -> str | None:
    return _advance(self, transaction_id, BILL_STAGES)


@shared_task(bind=True, name="PayKassanetBillJob")
def pay_kassanet_bill_job(self: Task, transaction_id: str) -> str | None:
    return _advance(self, transaction_id, PAY_STAGES)


# Routing is explicit on every send (and retry): payments never wait behind other work.
_QUEUES = {
    push_kassanet_order_job.name: QUEUE_DEFAULT,
    get_kassanet_bill_job.name: QUEUE_DEFAULT,
    pay_kassanet_bill_job.name: QUEUE_PAYMENTS,
}
_TASKS: dict[PushStatus, Any] = {
    **dict.fromkeys(PUSH_STAGES, push_kassanet_order_job),
    **dict.fromkeys(BILL_STAGES, get_kassanet_bill_job),
    **dict.fromkeys(PAY_STAGES, pay_kassanet_bill_job),
}


def enqueue_for_status(transaction_id: str, status: PushStatus) -> None:
    """Enqueue the task that handles `status` (nothing for a stopped push)."""
    task = _TASKS.get(status)
    if task is not None:
        task.apply_async((transaction_id,), queue=_QUEUES[task.name])


@shared_task(name="ResumeStalledOrderPushesJob")
def resume_stalled_order_pushes_job() -> int:
    return services.resume_stalled_pushes()


@shared_task(name="CheckDisconnectedIntegrationsJob")
def check_disconnected_integrations_job() -> int:
    ids = services.claim_due_retests()
    for integration_id in ids:
        test_kassanet_connection_job.apply_async(
            (integration_id,),
            queue=QUEUE_CONNECTION_TESTS,
            expires=settings.ORDER_PUSH_BEAT_SECONDS,
        )
    return len(ids)


@shared_task(name="TestKassanetConnectionJob")
def test_kassanet_connection_job(integration_id: str) -> bool | None:
    return services.test_integration_connection(integration_id)
