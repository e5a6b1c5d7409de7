from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "quaysquash.proxy"
    label = "proxy"
    verbose_name = "Proxy organizations"
