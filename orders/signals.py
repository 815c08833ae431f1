"""The one Django signal orders listens to: allauth's login, to merge the guest basket."""

from __future__ import annotations

from orders.services import basket_merge

SESSION_BASKET_KEY = "orders.basket"
SESSION_ORDERS_KEY = "orders.guest_orders"


def merge_basket_at_login(sender, request, user, **kwargs) -> None:
    guest_basket = request.session.get(SESSION_BASKET_KEY) if request is not None else None
    if guest_basket:
        basket_merge(guest_basket_public_id=guest_basket, user=user)
        request.session.pop(SESSION_BASKET_KEY, None)
