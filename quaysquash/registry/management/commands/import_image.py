"""``import_image <oci-layout-dir-or-tar>[:<ref>] | <docker-save.tar>[:<ref>] <ns>/<repo>:<tag>``."""

from django.core.management.base import BaseCommand, CommandError

from quaysquash.registry.importer import ImportFailed, import_image


class Command(BaseCommand):
    help = "Import a local OCI image layout (DIR[:ref]) or docker-save tar and tag it."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "source", help="OCI layout DIR[:ref] or tar, or a docker save tar[:ref]"
        )
        parser.add_argument("target", help="<namespace>/<repo>:<tag>")

    def handle(self, source: str, target: str, **options) -> None:
        try:
            tag = import_image(source, target)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{tag.repository.full_name}:{tag.name} {tag.manifest.digest}")
