from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "flowmart.users"
    catalog_domain = "Customer contact"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)
    label = "users"
    verbose_name = "Accounts"
