"""The one form field every storefront card form posts: a payment-method token.

The card element (``payments/templatetags/card_element.py``) turns the card into a token in the
browser; the orders, subscriptions and payments forms all receive it through this field. A card
number posted here anyway is refused by the payments services ("Card numbers are never
accepted"), and the card forms never re-render what was posted.
"""

from __future__ import annotations

from django import forms

CARD_DETAILS_NEEDED = "Enter your card details."


class PaymentTokenField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("label", "Card")
        kwargs.setdefault("error_messages", {"required": CARD_DETAILS_NEEDED})
        super().__init__(**kwargs)
