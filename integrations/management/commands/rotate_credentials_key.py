from django.core.management.base import BaseCommand

from integrations.repository import IntegrationRepository


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored POS credential with the first key of "
        "CREDENTIALS_ENCRYPTION_KEYS. Put the new key first (keep the old ones after it), "
        "deploy, run this, then remove the old keys."
    )

    def handle(self, *args: object, **options: object) -> None:
        changed = IntegrationRepository().reencrypt_all_credentials()
        self.stdout.write(f"Re-encrypted the credentials of {changed} integration(s).")
