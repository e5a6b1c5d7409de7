from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "quaysquash.registry"
    label = "registry"
