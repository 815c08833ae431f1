from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    catalog_domain = "Membership"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)
