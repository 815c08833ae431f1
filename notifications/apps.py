from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    catalog_domain = "Customer contact"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)

    def ready(self) -> None:
        from notifications import email_tracking

        email_tracking.connect()
