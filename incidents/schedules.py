"""Periodic tasks of the incidents app (written to celery-beat by `ensure_schedules`)."""

from django.conf import settings

from upvendo.schedules import register_schedule

register_schedule("incidents: check", "CheckIncidentsJob", settings.ALERT_CHECK_SECONDS)
