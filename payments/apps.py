from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    catalog_domain = "Payments"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)
