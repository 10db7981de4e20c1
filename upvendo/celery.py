"""The Celery app. Queues: `default`, `menu-import`, `payments-medium` and `connection-tests`
(the periodic re-test of disconnected registers); a worker serves one queue each, so payments
never wait behind a menu import, and a slow register's re-test never delays order pushes."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upvendo.settings")

QUEUE_DEFAULT = "default"
QUEUE_MENU_IMPORT = "menu-import"
QUEUE_PAYMENTS = "payments-medium"
QUEUE_CONNECTION_TESTS = "connection-tests"
QUEUES = (QUEUE_DEFAULT, QUEUE_MENU_IMPORT, QUEUE_PAYMENTS, QUEUE_CONNECTION_TESTS)

app = Celery("upvendo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name, routing_key=name) for name in QUEUES)
app.conf.task_default_routing_key = QUEUE_DEFAULT
app.autodiscover_tasks()


@worker_process_init.connect
def _reset_clients_after_fork(**_: Any) -> None:
    """MongoDB and Redis clients are not fork-safe: each worker child makes its own."""
    from upvendo.mongo import close_client
    from upvendo.redis import close_redis

    close_client()
    close_redis()
