import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)


class SquashConfig(AppConfig):
    name = "quaysquash.squash"
    label = "squash"
    verbose_name = "Squash delivery"

    def ready(self) -> None:
        from .signals import connect

        connect()
