from django.core.management.base import BaseCommand, CommandParser

from accounts.services import ensure_vendor_user


class Command(BaseCommand):
    help = (
        "Create a user (and its vendor) if needed and print its API token as the last line. "
        "Use it as `Authorization: Token <token>`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--vendor", help="the vendor the user belongs to (created if needed)")

    def handle(self, *args: object, **options: object) -> None:
        result = ensure_vendor_user(
            str(options["username"]), options["vendor"] and str(options["vendor"])
        )
        self.stdout.write(
            f"User {result.user.get_username()} belongs to vendor {result.vendor.name}."
        )
        self.stdout.write(result.token)
