from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "quaysquash.core"
    label = "core"
