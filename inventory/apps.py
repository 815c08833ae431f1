from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    catalog_domain = "Catalog and stock"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)
