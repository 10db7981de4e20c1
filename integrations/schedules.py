"""Periodic tasks of the integrations app (written to celery-beat by `ensure_schedules`)."""

from upvendo.schedules import register_schedule

# Daily menu syncs start within a minute of their local time (integrations/scheduler.py).
register_schedule("Run due Kassanet daily syncs", "RunDueKassanetSyncsJob", every_seconds=60)
