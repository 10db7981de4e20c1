"""The `transactions` collection: orders, their payment and their push to the register.

Document shape (money as Decimal128, exact)::

    {_id, vendor_id, location_id, currency, channel, table_number (table_qr only),
     service_type: eat_in | takeaway | delivery (None on orders stored before it existed),
     pricing_rule: "per_unit" (missing on orders priced before modifiers counted per unit),
     lines: [{item_id, name, quantity, unit_price, external_ids, note, total,
              modifiers: [{modifier_id, name, quantity (per unit of the line), unit_price,
                           external_ids}]}],
     total, status: pending | paid,
     payment: {amount, provider, reference, confirmed_at} | None,
     pos_provider: "hendrickx" | "vanhoutte" | None, pos_message: why it was not pushed,
     pos_status, pos_due_at,            # mirrors of the push state, for indexed queries
     need_requeue: bool,
     external_data: {<provider>: {status, version, integration_id, table_number, bill_id,
                                  errMessage, errCode, attempts, errors, lease_until,
                                  resume_status, table_lock: {claimed_at, released_at},
                                  history: [{at, from, to, detail, code, message}],
                                  created_at, updated_at}},
     created_at, updated_at}

Every change of the push state is one `find_one_and_update` whose filter holds the expected
status AND version: of two workers that act on the same state, exactly one wins; the other
gets None and re-reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.collection import Collection

from locations.repository import object_id
from orders.states import IN_FLIGHT, PushStatus, check_transition
from upvendo.mongo import get_db

COLLECTION = "transactions"
MAX_HISTORY = 200
PENDING = "pending"
PAID = "paid"


def to_decimal(value: Any) -> Decimal:
    """Money from MongoDB (Decimal128, a two-decimal string or an int) as an exact Decimal."""
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"not a money value: {value!r}")


def to_decimal128(value: Decimal) -> Decimal128:
    return Decimal128(value)


@dataclass(frozen=True)
class PushState:
    """`external_data.{provider}`: how far the push to the register got."""

    provider: str
    status: PushStatus
    version: int
    integration_id: str
    table_number: int | None = None
    bill_id: str | None = None
    err_message: str | None = None
    err_code: str | None = None
    attempts: int = 0
    errors: int = 0
    lease_until: datetime | None = None
    resume_status: PushStatus | None = None
    table_lock: dict[str, Any] = field(default_factory=dict)
    history: tuple[dict[str, Any], ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_document(cls, provider: str, doc: dict[str, Any]) -> PushState:
        resume = doc.get("resume_status")
        return cls(
            provider=provider,
            status=PushStatus(doc["status"]),
            version=doc["version"],
            integration_id=doc["integration_id"],
            table_number=doc.get("table_number"),
            bill_id=doc.get("bill_id"),
            err_message=doc.get("errMessage"),
            err_code=doc.get("errCode"),
            attempts=doc.get("attempts", 0),
            errors=doc.get("errors", 0),
            lease_until=doc.get("lease_until"),
            resume_status=PushStatus(resume) if resume else None,
            table_lock=doc.get("table_lock") or {},
            history=tuple(doc.get("history", ())),
            created_at=doc.get("created_at"),
            updated_at=doc.get("updated_at"),
        )


@dataclass(frozen=True)
class Transaction:
    id: str
    vendor_id: str
    location_id: str
    currency: str
    channel: str
    table_number: int | None
    lines: list[dict[str, Any]]
    total: Decimal
    status: str
    payment: dict[str, Any] | None
    pos_provider: str | None
    pos_message: str
    need_requeue: bool
    external_data: dict[str, PushState]
    created_at: datetime
    updated_at: datetime
    service_type: str | None = None
    pricing_rule: str | None = None

    @property
    def push(self) -> PushState | None:
        """The push state for the provider the order goes to (None before payment)."""
        return self.external_data.get(self.pos_provider) if self.pos_provider else None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Transaction:
        payment = doc.get("payment")
        if payment:
            payment = {**payment, "amount": to_decimal(payment["amount"])}
        return cls(
            id=str(doc["_id"]),
            vendor_id=doc["vendor_id"],
            location_id=doc["location_id"],
            currency=doc["currency"],
            channel=doc["channel"],
            table_number=doc.get("table_number"),
            lines=[_line_from_document(line) for line in doc["lines"]],
            total=to_decimal(doc["total"]),
            status=doc["status"],
            payment=payment,
            pos_provider=doc.get("pos_provider"),
            pos_message=doc.get("pos_message", ""),
            need_requeue=bool(doc.get("need_requeue")),
            external_data={
                provider: PushState.from_document(provider, state)
                for provider, state in (doc.get("external_data") or {}).items()
            },
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            service_type=doc.get("service_type"),
            pricing_rule=doc.get("pricing_rule"),
        )


def _line_from_document(line: dict[str, Any]) -> dict[str, Any]:
    return {
        **line,
        "unit_price": to_decimal(line["unit_price"]),
        "total": to_decimal(line["total"]),
        "modifiers": [
            {**modifier, "unit_price": to_decimal(modifier["unit_price"])}
            for modifier in line["modifiers"]
        ],
    }


def _line_to_document(line: dict[str, Any]) -> dict[str, Any]:
    return {
        **line,
        "unit_price": to_decimal128(line["unit_price"]),
        "total": to_decimal128(line["total"]),
        "modifiers": [
            {**modifier, "unit_price": to_decimal128(modifier["unit_price"])}
            for modifier in line["modifiers"]
        ],
    }


@dataclass(frozen=True)
class Page:
    items: list[Transaction]
    count: int


class TransactionRepository:
    def __init__(self, collection: Collection[dict[str, Any]] | None = None) -> None:
        self._collection = collection if collection is not None else get_db()[COLLECTION]

    # -- reads --------------------------------------------------------------------------------

    def get(self, transaction_id: str) -> Transaction | None:
        oid = object_id(transaction_id)
        doc = self._collection.find_one({"_id": oid}) if oid else None
        return Transaction.from_document(doc) if doc else None

    def get_for_vendor(self, transaction_id: str, vendor_id: str) -> Transaction | None:
        oid = object_id(transaction_id)
        doc = self._collection.find_one({"_id": oid, "vendor_id": vendor_id}) if oid else None
        return Transaction.from_document(doc) if doc else None

    def list_for_location(
        self, location_id: str, *, pos_status: str | None, offset: int, limit: int
    ) -> Page:
        query: dict[str, Any] = {"location_id": location_id}
        if pos_status:
            query["pos_status"] = pos_status
        cursor = (
            self._collection.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        items = [Transaction.from_document(doc) for doc in cursor]
        return Page(items, self._collection.count_documents(query))

    def is_current(self, txn: Transaction) -> bool:
        """Whether the push is still at the (status, version) `txn` was read with."""
        push = txn.push
        assert push is not None
        prefix = f"external_data.{push.provider}"
        found = self._collection.find_one(
            {
                "_id": ObjectId(txn.id),
                f"{prefix}.status": push.status.value,
                f"{prefix}.version": push.version,
            },
            {"_id": 1},
        )
        return found is not None

    def push_statuses(self, transaction_ids: list[str]) -> dict[str, str | None]:
        """Transaction id -> its push status (`pos_status`); absent ids do not exist."""
        oids = [oid for oid in map(object_id, transaction_ids) if oid is not None]
        cursor = self._collection.find({"_id": {"$in": oids}}, {"pos_status": 1})
        return {str(doc["_id"]): doc.get("pos_status") for doc in cursor}

    def stalled(self, *, due_before: datetime, limit: int) -> list[tuple[str, datetime]]:
        """(id, pos_due_at) of in-flight pushes that should have advanced before `due_before`."""
        cursor = self._collection.find(
            {"pos_status": {"$in": sorted(IN_FLIGHT)}, "pos_due_at": {"$lt": due_before}},
            {"pos_due_at": 1},
        ).limit(limit)
        return [(str(doc["_id"]), doc["pos_due_at"]) for doc in cursor]

    def waiting_for_requeue(
        self, integration_id: str, *, due_before: datetime | None = None
    ) -> list[str]:
        """Ids of the integration's orders kept with `need_requeue`."""
        query: dict[str, Any] = {
            "need_requeue": True,
            "pos_status": PushStatus.NEED_REQUEUE.value,
            "pos_integration_id": integration_id,
        }
        if due_before is not None:
            query["pos_due_at"] = {"$lt": due_before}
        return [str(doc["_id"]) for doc in self._collection.find(query, {"_id": 1})]

    def integrations_with_requeue(self, *, due_before: datetime) -> list[str]:
        """Integration ids that have orders kept with `need_requeue` since before `due_before`."""
        return [
            str(value)
            for value in self._collection.distinct(
                "pos_integration_id",
                {
                    "need_requeue": True,
                    "pos_status": PushStatus.NEED_REQUEUE.value,
                    "pos_due_at": {"$lt": due_before},
                },
            )
        ]

    # -- writes -------------------------------------------------------------------------------

    def create(
        self,
        *,
        vendor_id: str,
        location_id: str,
        currency: str,
        channel: str,
        table_number: int | None,
        lines: list[dict[str, Any]],
        total: Decimal,
        now: datetime,
        service_type: str | None = None,
        pricing_rule: str | None = None,
    ) -> Transaction:
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "vendor_id": vendor_id,
            "location_id": location_id,
            "currency": currency,
            "channel": channel,
            "table_number": table_number,
            "service_type": service_type,
            "pricing_rule": pricing_rule,
            "lines": [_line_to_document(line) for line in lines],
            "total": to_decimal128(total),
            "status": PENDING,
            "payment": None,
            "pos_provider": None,
            "pos_message": "",
            "pos_status": None,
            "need_requeue": False,
            "external_data": {},
            "created_at": now,
            "updated_at": now,
        }
        self._collection.insert_one(doc)
        return Transaction.from_document(doc)

    def confirm_payment(
        self,
        transaction_id: str,
        *,
        amount: Decimal,
        payment_provider: str,
        payment_reference: str,
        push_provider: str | None,
        integration_id: str | None,
        pos_message: str,
        now: datetime,
    ) -> Transaction | None:
        """Mark a pending order paid and queue its push, atomically; None if not pending."""
        fields: dict[str, Any] = {
            "status": PAID,
            "payment": {
                "amount": to_decimal128(amount),
                "provider": payment_provider,
                "reference": payment_reference,
                "confirmed_at": now,
            },
            "pos_provider": push_provider,
            "pos_message": pos_message,
            "updated_at": now,
        }
        if push_provider is not None and integration_id is not None:
            fields.update(
                {
                    "pos_status": PushStatus.QUEUED.value,
                    "pos_due_at": now,
                    "pos_integration_id": integration_id,
                    f"external_data.{push_provider}": {
                        "status": PushStatus.QUEUED.value,
                        "version": 1,
                        "integration_id": integration_id,
                        "table_number": None,
                        "bill_id": None,
                        "errMessage": None,
                        "errCode": None,
                        "attempts": 0,
                        "errors": 0,
                        "lease_until": None,
                        "resume_status": None,
                        "table_lock": {},
                        "history": [
                            {"at": now, "from": None, "to": "queued", "detail": "payment confirmed"}
                        ],
                        "created_at": now,
                        "updated_at": now,
                    },
                }
            )
        doc = self._collection.find_one_and_update(
            {"_id": object_id(transaction_id), "status": PENDING},
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
        )
        return Transaction.from_document(doc) if doc else None

    def transition(
        self,
        txn: Transaction,
        target: PushStatus,
        *,
        now: datetime,
        detail: str,
        fields: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        count_attempt: bool = True,
        due_at: datetime | None = None,
        top: dict[str, Any] | None = None,
    ) -> Transaction | None:
        """Move the push from its current (status, version) to `target`; None if it moved on.

        `fields` are `external_data.{provider}.<name>` values to set with it. A successful
        step resets the consecutive error count; `count_attempt` adds one to `attempts`.
        `top` are top-level fields (`need_requeue`) set in the same write.
        """
        push = txn.push
        if push is None:
            raise ValueError(f"transaction {txn.id} has no push state")
        check_transition(push.status, target)
        prefix = f"external_data.{push.provider}"
        entry: dict[str, Any] = {"at": now, "from": push.status.value, "to": target.value}
        entry["detail"] = detail
        if error_code or error_message:
            entry["code"], entry["message"] = error_code, error_message
        values: dict[str, Any] = {
            f"{prefix}.{name}": value for name, value in (fields or {}).items()
        }
        values.update(
            {
                f"{prefix}.status": target.value,
                f"{prefix}.updated_at": now,
                "pos_status": target.value,
                "pos_due_at": due_at or now,
                "updated_at": now,
                **(top or {}),
            }
        )
        if target not in (PushStatus.FAILED, PushStatus.NEED_REQUEUE):
            values.setdefault(f"{prefix}.errors", 0)
        doc = self._collection.find_one_and_update(
            {
                "_id": ObjectId(txn.id),
                f"{prefix}.status": push.status.value,
                f"{prefix}.version": push.version,
            },
            {
                "$set": values,
                "$inc": {f"{prefix}.version": 1, f"{prefix}.attempts": int(count_attempt)},
                "$push": {f"{prefix}.history": {"$each": [entry], "$slice": -MAX_HISTORY}},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Transaction.from_document(doc) if doc else None

    def record_error(
        self,
        txn: Transaction,
        *,
        now: datetime,
        code: str | None,
        message: str,
        due_at: datetime,
    ) -> Transaction | None:
        """A transient failure of the current step: count it and say when it is retried.

        The status stays; only a worker still looking at the same version records it. A
        lease is dropped: the outcome of a SendOrder/PayBill that failed is unknown, so the
        next run must look at the bill first (takeover) instead of waiting for the lease.
        """
        push = txn.push
        assert push is not None
        prefix = f"external_data.{push.provider}"
        doc = self._collection.find_one_and_update(
            {
                "_id": ObjectId(txn.id),
                f"{prefix}.status": push.status.value,
                f"{prefix}.version": push.version,
            },
            {
                "$set": {
                    f"{prefix}.errMessage": message,
                    f"{prefix}.errCode": code,
                    f"{prefix}.lease_until": None,
                    f"{prefix}.updated_at": now,
                    "pos_due_at": due_at,
                    "updated_at": now,
                },
                "$inc": {f"{prefix}.errors": 1, f"{prefix}.attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return Transaction.from_document(doc) if doc else None

    def postpone(self, txn: Transaction, *, due_at: datetime) -> bool:
        """Say the push waits (for a table, a lease) until `due_at`, so it is not 'stalled'."""
        push = txn.push
        assert push is not None
        prefix = f"external_data.{push.provider}"
        result = self._collection.update_one(
            {
                "_id": ObjectId(txn.id),
                f"{prefix}.status": push.status.value,
                f"{prefix}.version": push.version,
            },
            {"$set": {"pos_due_at": due_at}},
        )
        return result.modified_count == 1

    def wake_oldest_waiting(self, location_id: str, *, now: datetime) -> str | None:
        """Bring forward the location's longest-waiting order for a table (first in, first
        out): its `pos_due_at` becomes `now`. Returns its id, or None when none waits. One
        conditional update, so two orders releasing tables at once wake two different ones."""
        doc = self._collection.find_one_and_update(
            {
                "location_id": location_id,
                "pos_status": PushStatus.QUEUED.value,
                "pos_due_at": {"$gt": now},
            },
            {"$set": {"pos_due_at": now}},
            sort=[("created_at", 1)],
            projection={"_id": 1},
        )
        return str(doc["_id"]) if doc else None

    def claim_stalled(self, transaction_id: str, due_at: datetime, *, now: datetime) -> bool:
        """Take a stalled push for re-enqueueing (only one beat run wins it)."""
        result = self._collection.update_one(
            {"_id": ObjectId(transaction_id), "pos_due_at": due_at},
            {"$set": {"pos_due_at": now}},
        )
        return result.modified_count == 1

    def set_lock_times(self, txn: Transaction, **times: datetime | None) -> None:
        push = txn.push
        assert push is not None
        self._collection.update_one(
            {"_id": ObjectId(txn.id)},
            {
                "$set": {
                    f"external_data.{push.provider}.table_lock.{name}": value
                    for name, value in times.items()
                }
            },
        )
