from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "flowmart.api"
    label = "api"
    verbose_name = "API kernel"
