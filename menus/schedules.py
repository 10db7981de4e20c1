"""The menu import's periodic task (written to celery-beat's schedule by
`manage.py ensure_schedules`)."""

from django.conf import settings

from upvendo.schedules import register_schedule

register_schedule(
    "menus: resume stalled menu imports",
    "ResumeStalledMenuImportsJob",
    settings.MENU_IMPORT_RESUME_SECONDS,
)
