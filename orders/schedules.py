"""The order push's periodic tasks (written to celery-beat's schedule by
`manage.py ensure_schedules`)."""

from django.conf import settings

from upvendo.celery import QUEUE_CONNECTION_TESTS
from upvendo.schedules import register_schedule

register_schedule(
    "orders: resume stalled order pushes",
    "ResumeStalledOrderPushesJob",
    settings.ORDER_PUSH_BEAT_SECONDS,
)
register_schedule(
    "orders: re-test disconnected integrations",
    "CheckDisconnectedIntegrationsJob",
    settings.ORDER_PUSH_BEAT_SECONDS,
    queue=QUEUE_CONNECTION_TESTS,  # re-tests never wait for, nor delay, order pushes
)
