"""``grant <robot-or-user> <ns>/<repo> <role>``: set a role (``none`` revokes)."""

from django.core.management.base import BaseCommand, CommandError

from quaysquash.accounts import grants, lookups
from quaysquash.accounts.models import Role


class Command(BaseCommand):
    help = "Give a robot (ns+name) or a user a role on a repository; role 'none' revokes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("principal")
        parser.add_argument("repository")
        parser.add_argument("role", choices=[*Role.values, "none"])

    def handle(self, principal: str, repository: str, role: str, **options) -> None:
        try:
            repo = lookups.repository(repository)
            who = lookups.robot(principal) if "+" in principal else lookups.user(principal)
            grants.set_role(repo, who, None if role == "none" else role)
        except (lookups.LookupError_, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{principal}: {role} on {repo.full_name}")
