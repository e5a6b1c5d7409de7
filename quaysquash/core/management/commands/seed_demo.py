"""``manage.py seed_demo``: an admin, the ``acme`` organization, a robot and a real image.

Idempotent: running it again changes nothing that exists and prints the same credentials, so
``scripts/serve`` can run it on every start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from quaysquash.accounts.models import (
    Namespace,
    Repository,
    RepositoryPermission,
    RobotAccount,
    Role,
)
from quaysquash.core import demo_image
from quaysquash.registry.models import Tag

ADMIN_USERNAME = "admin"
ORG = "acme"
REPO = "web"
TAG = "v1"
ROBOT_SHORT = "deployer"
SHARED_IMAGE = settings.BASE_DIR.parent / "shared" / "images" / "debian-app"


class Command(BaseCommand):
    help = "Create demo data: superuser admin, org acme, robot acme+deployer, image acme/web:v1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--image",
            help="OCI layout DIR[:ref] to import (default: ../shared/images/debian-app when "
            "present, else a busybox image built here)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin, password = self._admin()
            org = self._org(admin)
            repo, _ = Repository.objects.get_or_create(
                namespace=org, name=REPO, defaults={"description": "Demo image"}
            )
            robot, _ = RobotAccount.objects.get_or_create(
                namespace=org,
                short_name=ROBOT_SHORT,
                defaults={"description": "Demo robot with read on acme/web"},
            )
            RepositoryPermission.objects.get_or_create(
                repository=repo, robot=robot, defaults={"role": Role.READ}
            )
        image = self._import(repo, options.get("image"))

        host = settings.QS_SERVER_HOSTNAME
        url = f"{settings.QS_PREFERRED_URL_SCHEME}://{host}"
        lines = [
            f"URL:            {url}/",
            f"admin user:     {ADMIN_USERNAME}",
            f"admin password: {password or '(unchanged; set QS_ADMIN_PASSWORD to reset it)'}",
            f"robot:          {robot.full_name}",
            f"robot token:    {robot.token}",
            f"image:          {ORG}/{REPO}:{TAG} ({image})",
            "try:",
            f"  docker login {host} -u '{robot.full_name}' -p '{robot.token}'",
            f"  docker pull {host}/{ORG}/{REPO}:{TAG}",
            f"  curl -u '{robot.full_name}:{robot.token}' -o web.tar "
            f"{url}/c1/squash/{ORG}/{REPO}/{TAG}",
        ]
        self.stdout.write("\n".join(lines))

    def _admin(self) -> tuple[Any, str | None]:
        """The superuser and its password if known (env, remembered file, or new)."""
        user_model = get_user_model()
        remembered = Path(settings.VAR_DIR) / "demo_admin_password"
        wanted = os.environ.get("QS_ADMIN_PASSWORD") or None
        admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            password = wanted or secrets.token_urlsafe(12)
            admin = user_model.objects.create_superuser(
                ADMIN_USERNAME, email="admin@example.com", password=password
            )
            if not wanted:
                _write_private(remembered, password)
            return admin, password
        if wanted:
            if not admin.check_password(wanted):
                admin.set_password(wanted)
                admin.save(update_fields=["password"])
            return admin, wanted
        if remembered.is_file():
            password = remembered.read_text().strip()
            if admin.check_password(password):
                return admin, password
        return admin, None

    def _org(self, admin: Any) -> Namespace:
        org = Namespace.objects.filter(name=ORG).first()
        if org is None:
            org = Namespace.objects.create(name=ORG, kind=Namespace.Kind.ORGANIZATION)
        elif not org.is_organization:
            raise CommandError(f"namespace {ORG!r} exists and is not an organization")
        org.admins.add(admin)
        return org

    def _import(self, repo: Repository, image: str | None) -> str:
        existing = Tag.objects.active().filter(repository=repo, name=TAG).first()
        if existing is not None:
            return f"already present, {existing.manifest.digest}"
        if image:
            source = image
        elif (SHARED_IMAGE / "index.json").is_file():
            source = str(SHARED_IMAGE)
        else:
            try:
                layout = demo_image.build_busybox_layout(Path(settings.VAR_DIR) / "demo-image")
            except demo_image.DemoImageError as exc:
                raise CommandError(str(exc)) from None
            source = f"{layout}:{demo_image.REF_NAME}"
        call_command("import_image", source, f"{ORG}/{REPO}:{TAG}", stdout=self.stderr)
        tag = Tag.objects.active().filter(repository=repo, name=TAG).first()
        if tag is None:
            raise CommandError(f"import_image did not tag {ORG}/{REPO}:{TAG}")
        return f"imported from {source}, {tag.manifest.digest}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
