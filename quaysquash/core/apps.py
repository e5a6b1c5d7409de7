from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "quaysquash.core"
    label = "core"

    def ready(self) -> None:
        from . import converters

        converters.register()
