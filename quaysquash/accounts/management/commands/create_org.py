"""``create_org <name> --admin <username>``: create an organization with its first admin."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from quaysquash.accounts import lookups
from quaysquash.accounts.models import Namespace
from quaysquash.accounts.names import validate_namespace_name


class Command(BaseCommand):
    help = "Create an organization and make a user its admin."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--admin", action="append", default=[], required=True)

    def handle(self, name: str, admin: list[str], **options) -> None:
        try:
            validate_namespace_name(name)
            admins = [lookups.user(username) for username in admin]
        except (ValidationError, lookups.LookupError_) as exc:
            raise CommandError(_message(exc)) from None
        if Namespace.objects.filter(name=name).exists():
            raise CommandError(f"namespace {name!r} already exists")
        with transaction.atomic():
            org = Namespace.objects.create(name=name, kind=Namespace.Kind.ORGANIZATION)
            org.admins.add(*admins)
            org.members.add(*admins)
        self.stdout.write(name)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)
