from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    catalog_domain = "Sales"  # its domain in the EventCatalog export (flowmart/events/eventcatalog.py)

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed, user_logged_in

        from orders.signals import attach_guest_orders_at_email_confirmation, merge_basket_at_login

        user_logged_in.connect(merge_basket_at_login, dispatch_uid="orders.merge_basket_at_login")
        email_confirmed.connect(
            attach_guest_orders_at_email_confirmation, dispatch_uid="orders.attach_guest_orders_at_email_confirmation"
        )
