from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"
    catalog_domain = "Delivery"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)
