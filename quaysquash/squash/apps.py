from django.apps import AppConfig


class SquashConfig(AppConfig):
    name = "quaysquash.squash"
    label = "squash"
