from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "quaysquash.api"
    label = "api"
