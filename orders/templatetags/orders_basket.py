"""``{% load orders_basket %}{% basket_count %}``: items in the visitor's basket, for the header."""

from __future__ import annotations

from django import template

from orders.selectors import basket_item_count
from orders.signals import SESSION_BASKET_KEY

register = template.Library()


@register.simple_tag(takes_context=True)
def basket_count(context) -> int:
    request = context.get("request")
    if request is None:
        return 0
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    return basket_item_count(user=user, basket_public_id=session.get(SESSION_BASKET_KEY) if session else None)
