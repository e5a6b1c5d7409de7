"""``create_proxy_org <name> --upstream URL``: an organization that pulls through from a registry."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from quaysquash.accounts import lookups
from quaysquash.accounts.models import Namespace
from quaysquash.accounts.names import validate_namespace_name
from quaysquash.proxy.models import ProxyOrganization


class Command(BaseCommand):
    help = (
        "Create a proxy organization bound to an upstream registry (or bind an existing, empty "
        "organization). The password or token is read from standard input, never argv."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--upstream", required=True, help="e.g. https://registry-1.docker.io")
        parser.add_argument("--username", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password or token from stdin"
        )
        parser.add_argument(
            "--insecure", action="store_true", help="do not verify the upstream's TLS certificate"
        )
        parser.add_argument("--ca-bundle", default="", help="CA bundle to trust for the upstream")
        parser.add_argument("--admin", action="append", default=[], help="admin user (repeatable)")
        parser.add_argument(
            "--public", action="store_true", help="repositories pulled through are public"
        )

    def handle(self, name: str, upstream: str, **options) -> None:
        if "://" not in upstream:
            raise CommandError("--upstream must be a URL such as https://ghcr.io")
        password = ""
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin given but standard input is empty")
        if password and not options["username"]:
            raise CommandError("a password needs --username")
        ca_bundle = options["ca_bundle"]
        if ca_bundle:
            if not Path(ca_bundle).is_file():
                raise CommandError(f"CA bundle {ca_bundle} is not a file")
            ca_bundle = str(Path(ca_bundle).resolve())
        try:
            validate_namespace_name(name)
            admins = [lookups.user(username) for username in options["admin"]]
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except lookups.LookupError_ as exc:
            raise CommandError(str(exc)) from None
        with transaction.atomic():
            namespace = Namespace.objects.filter(name=name).first()
            if namespace is None:
                namespace = Namespace.objects.create(name=name, kind=Namespace.Kind.ORGANIZATION)
            elif not namespace.is_organization:
                raise CommandError(f"{name!r} is a user namespace, not an organization")
            elif hasattr(namespace, "proxy"):
                raise CommandError(f"{name!r} is already a proxy organization")
            elif namespace.repositories.exists():
                raise CommandError(f"organization {name!r} already has repositories")
            namespace.admins.add(*admins)
            namespace.members.add(*admins)
            proxy = ProxyOrganization(
                namespace=namespace,
                upstream_url=upstream.rstrip("/"),
                username=options["username"],
                verify_tls=not options["insecure"],
                ca_bundle=ca_bundle,
                public_repositories=options["public"],
            )
            proxy.set_password(password)
            proxy.save()
        self.stdout.write(name)
