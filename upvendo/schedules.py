"""Periodic tasks, declared in code and written to django-celery-beat's database schedule.

An app declares its periodic tasks in a `schedules.py` module with `register_schedule()`;
`ensure_schedules()` (the `ensure_schedules` command, run by the run command and the
production `migrate` service) creates or updates them, idempotently, by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    queue: str = "default"


_schedules: dict[str, Schedule] = {}


def register_schedule(name: str, task: str, every_seconds: int, queue: str = "default") -> None:
    _schedules[name] = Schedule(name, task, every_seconds, queue)


def registered_schedules() -> dict[str, Schedule]:
    autodiscover_modules("schedules")
    return _schedules


@transaction.atomic
def ensure_schedules() -> list[str]:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    names = []
    for schedule in registered_schedules().values():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "interval": interval,
                "queue": schedule.queue,
                "enabled": True,
            },
        )
        names.append(schedule.name)
    return names
