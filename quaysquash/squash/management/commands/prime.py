"""``prime <ns>/<repo>:<tag> [--platform P] [--format F] [--compression C] [--wait]``."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from quaysquash.accounts.models import Repository
from quaysquash.squash.models import COMPRESSIONS, FORMATS, SquashedImage
from quaysquash.squash.priming import prime_tag
from quaysquash.squash.resolve import SquashHTTPError
from quaysquash.squash.views import state_of


class Command(BaseCommand):
    help = "Build the squashed image of a tag ahead of its first pull (runs on a Celery worker)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("reference", help="<namespace>/<repository>:<tag>")
        parser.add_argument("--platform", default=None, help="os/arch[/variant] for an index")
        parser.add_argument("--format", default="docker", choices=FORMATS)
        parser.add_argument("--compression", default="none", choices=COMPRESSIONS)
        parser.add_argument("--wait", action="store_true", help="wait until ready or failed")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, reference: str, **options) -> None:
        path, sep, tag = reference.rpartition(":")
        namespace, _, name = path.partition("/")
        if not sep or not namespace or not name or not tag:
            raise CommandError("reference must look like <namespace>/<repository>:<tag>")
        repo = Repository.objects.filter(namespace__name=namespace, name=name).first()
        if repo is None:
            raise CommandError(f"repository {path} not found")
        try:
            image, started = prime_tag(
                repo, tag, options["platform"], options["format"], options["compression"]
            )
        except SquashHTTPError as err:
            raise CommandError(str(err)) from None
        self.stdout.write(f"{'started' if started else 'already ' + image.state}: {image}")
        if options["wait"]:
            deadline = time.monotonic() + options["timeout"]
            while True:
                image = SquashedImage.objects.filter(pk=image.pk).first()
                state = state_of(image)
                if state["state"] in ("ready", "failed", "missing"):
                    break
                if time.monotonic() > deadline:
                    raise CommandError("timed out waiting for the build")
                time.sleep(0.2)
            self.stdout.write(json.dumps(state))
            if state["state"] != "ready":
                raise CommandError(f"squash {state['state']}: {state['error']}")
