from django.core.management.base import BaseCommand

from upvendo.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Write the periodic tasks that apps declare to celery-beat's schedule (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        names = ensure_schedules()
        self.stdout.write(
            self.style.SUCCESS(f"{len(names)} periodic tasks ensured: {', '.join(names) or '-'}")
        )
