"""The Celery app. Queues: `default`, `menu-import` and `payments-medium`; a worker serves one
queue each, so payments never wait behind a menu import."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upvendo.settings")

QUEUE_DEFAULT = "default"
QUEUE_MENU_IMPORT = "menu-import"
QUEUE_PAYMENTS = "payments-medium"
QUEUES = (QUEUE_DEFAULT, QUEUE_MENU_IMPORT, QUEUE_PAYMENTS)

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


@setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    """Workers and beat log through Django's LOGGING, with its secret-redacting filter.

    With a receiver of this signal Celery configures no logging of its own: no handler of
    its own on the root logger or on ``celery.task`` (which would bypass the filter). The
    worker's ``--loglevel`` is then unused; ``LOG_LEVEL`` sets the level."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
