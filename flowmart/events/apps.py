from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "flowmart.events"
    label = "events"
    verbose_name = "Domain events"

    def ready(self) -> None:
        # Every app's handlers.py subscribes its reactions at import time.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("handlers")
