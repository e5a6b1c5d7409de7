"""``create_robot <org> <short> [--repo <repo>=<role> ...]``: prints the full name and token."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from quaysquash.accounts import grants, lookups
from quaysquash.accounts.models import RobotAccount, Role
from quaysquash.accounts.names import validate_robot_short_name


def parse_repo_role(spec: str, namespace: str) -> tuple[str, str]:
    """``web=read`` or ``acme/web=read`` → (``acme/web``, ``read``)."""
    repo, sep, role = spec.rpartition("=")
    if not sep or not repo:
        raise CommandError(f"--repo takes <repo>=<role>, got {spec!r}")
    if role not in Role.values:
        raise CommandError(f"unknown role {role!r} in {spec!r}: use read, write or admin")
    if not repo.startswith(namespace + "/"):
        repo = f"{namespace}/{repo}"
    return repo, role


class Command(BaseCommand):
    help = "Create a robot account; prints its full name and its token on two lines."

    def add_arguments(self, parser) -> None:
        parser.add_argument("namespace")
        parser.add_argument("short_name")
        parser.add_argument("--repo", action="append", default=[], metavar="REPO=ROLE")
        parser.add_argument("--description", default="")

    def handle(self, namespace: str, short_name: str, repo: list[str], **options) -> None:
        try:
            ns = lookups.namespace(namespace)
            validate_robot_short_name(short_name)
            wanted = [parse_repo_role(spec, ns.name) for spec in repo]
            repositories = [(lookups.repository(name), role) for name, role in wanted]
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except lookups.LookupError_ as exc:
            raise CommandError(str(exc)) from None
        if RobotAccount.objects.filter(namespace=ns, short_name=short_name).exists():
            raise CommandError(f"robot {ns.name}+{short_name} already exists")
        with transaction.atomic():
            robot = RobotAccount(namespace=ns, short_name=short_name)
            robot.description = options["description"]
            robot.save()
            for repository, role in repositories:
                grants.set_role(repository, robot, role)
        self.stdout.write(robot.full_name)
        self.stdout.write(robot.token)
