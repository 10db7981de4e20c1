"""The menu import's periodic task (written to celery-beat's schedule by
`manage.py ensure_schedules`)."""

from django.conf import settings

from upvendo.schedules import register_schedule

# Stock refreshes: each integration every settings.stock_refresh_minutes (menus/stock.py).
register_schedule("menus: refresh due stock", "RefreshDueKassanetStockJob", 60)
register_schedule(
    "menus: resume stalled menu imports",
    "ResumeStalledMenuImportsJob",
    settings.MENU_IMPORT_RESUME_SECONDS,
)
