from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import ADMIN, VENDOR_ROLES
from accounts.services import AccountError, ensure_vendor_user, token_ttl


class Command(BaseCommand):
    help = (
        "Create a user (and its vendor) if needed, issue it a new API token of a role and "
        "print the token as the last line. Use it as `Authorization: Token <token>`. "
        "An existing user keeps its vendor unless --move-vendor is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--vendor", help="the vendor the user belongs to (created if needed)")
        parser.add_argument(
            "--role",
            choices=VENDOR_ROLES,
            default=ADMIN,
            help="admin (vendor staff, the default) or channel (a kiosk or webshop device)",
        )
        parser.add_argument(
            "--move-vendor",
            action="store_true",
            help="move an existing user to --vendor (its older tokens are revoked)",
        )
        parser.add_argument("--ttl-days", type=int, help="days until the token expires")

    def handle(self, *args: object, **options: object) -> None:
        ttl_days = options["ttl_days"]
        if ttl_days is not None and int(str(ttl_days)) < 1:
            raise CommandError("--ttl-days must be at least 1.")
        try:
            result = ensure_vendor_user(
                str(options["username"]),
                options["vendor"] and str(options["vendor"]),
                role=str(options["role"]),
                move_vendor=bool(options["move_vendor"]),
                ttl=token_ttl(None if ttl_days is None else int(str(ttl_days))),
            )
        except AccountError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"User {result.user.get_username()} belongs to vendor {result.vendor.name}."
        )
        if result.revoked:
            self.stdout.write(f"Revoked its {result.revoked} token(s) of the previous vendor.")
        expiry = result.expiry.isoformat(timespec="seconds") if result.expiry else "never"
        self.stdout.write(f"Role {result.role}; the token expires {expiry}. It is shown once:")
        self.stdout.write(result.token)
