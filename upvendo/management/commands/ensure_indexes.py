from django.core.management.base import BaseCommand

from upvendo.mongo import ensure_indexes


class Command(BaseCommand):
    help = "Create every MongoDB index the apps declare (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        created = ensure_indexes()
        for collection, names in sorted(created.items()):
            self.stdout.write(f"{collection}: {', '.join(names)}")
        self.stdout.write(self.style.SUCCESS(f"Indexes ensured on {len(created)} collections."))
