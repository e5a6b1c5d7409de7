from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "quaysquash.web"
    label = "web"
