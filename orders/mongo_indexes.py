from pymongo import ASCENDING, DESCENDING, IndexModel

from orders.locks import COLLECTION as TABLE_LOCKS
from orders.repository import COLLECTION as TRANSACTIONS
from upvendo.mongo import register_indexes

register_indexes(
    TRANSACTIONS,
    [
        # The location's order list, optionally by push status, newest first.
        IndexModel(
            [("location_id", ASCENDING), ("pos_status", ASCENDING), ("created_at", DESCENDING)],
            name="location_pos_status_created",
        ),
        IndexModel(
            [("location_id", ASCENDING), ("created_at", DESCENDING)], name="location_created"
        ),
        # ResumeStalledOrderPushesJob: in-flight pushes by due time.
        IndexModel([("pos_status", ASCENDING), ("pos_due_at", ASCENDING)], name="pos_due"),
        # A payment (provider, reference) pays at most one order (docs/security.md).
        IndexModel(
            [("payment.provider", ASCENDING), ("payment.reference", ASCENDING)],
            name="payment_provider_reference",
            unique=True,
            partialFilterExpression={"payment.reference": {"$type": "string"}},
        ),
        # requeue_orders: the integration's orders kept with need_requeue.
        IndexModel(
            [("pos_integration_id", ASCENDING), ("need_requeue", ASCENDING)],
            name="integration_requeue",
            partialFilterExpression={"need_requeue": True},
        ),
    ],
)
register_indexes(
    TABLE_LOCKS,
    [
        IndexModel([("location_id", ASCENDING), ("provider", ASCENDING)], name="location_provider"),
        # The beat's sweep of locks still held by ended orders: only held locks are indexed.
        IndexModel(
            [("owner", ASCENDING)],
            name="held_owner",
            partialFilterExpression={"owner": {"$type": "string"}},
        ),
    ],
)
