from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import SERVICE_ROLES
from accounts.services import AccountError, create_service_token, token_ttl


class Command(BaseCommand):
    help = (
        "Issue a new token of the platform's payments or support service and print it as the "
        "last line. payments may only confirm payments; support reads every vendor's data "
        "(secrets stay masked) and retries orders."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", choices=SERVICE_ROLES)
        parser.add_argument("--ttl-days", type=int, help="days until the token expires")

    def handle(self, *args: object, **options: object) -> None:
        ttl_days = options["ttl_days"]
        if ttl_days is not None and int(str(ttl_days)) < 1:
            raise CommandError("--ttl-days must be at least 1.")
        try:
            result = create_service_token(
                str(options["role"]), token_ttl(None if ttl_days is None else int(str(ttl_days)))
            )
        except AccountError as error:
            raise CommandError(str(error)) from None
        expiry = result.expiry.isoformat(timespec="seconds") if result.expiry else "never"
        self.stdout.write(
            f"Service user {result.user.get_username()}, role {result.role}; the token expires "
            f"{expiry}. It is shown once:"
        )
        self.stdout.write(result.token)
