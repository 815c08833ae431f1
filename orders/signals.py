"""The Django signals orders listens to: allauth's login (merge the guest basket) and email confirmation
(the guest orders placed with that address join the account)."""

from __future__ import annotations

from orders.services import basket_merge, guest_orders_attach

SESSION_BASKET_KEY = "orders.basket"


def merge_basket_at_login(sender, request, user, **kwargs) -> None:
    guest_basket = request.session.get(SESSION_BASKET_KEY) if request is not None else None
    if guest_basket:
        basket_merge(guest_basket_public_id=guest_basket, user=user)
        request.session.pop(SESSION_BASKET_KEY, None)


def attach_guest_orders_at_email_confirmation(sender, request, email_address, **kwargs) -> None:
    """Only a confirmed address proves the orders placed with it are this person's."""
    if email_address.user_id:
        guest_orders_attach(user=email_address.user, email=email_address.email)
