"""``{% card_element %}``: the storefront's card form, handled by the gateway's own script.

The card number, expiry and CVC inputs it renders have no ``name``: the browser never
posts them. The gateway's script (``static/payments/sandbox-elements.js``, or Stripe
Elements with the Stripe adapter) turns the card into a payment-method token and
puts it in the one named input, so only the token reaches FlowMart.
"""

from __future__ import annotations

from django import template
from django.conf import settings

from payments.gateways.sandbox import TEST_CARDS

register = template.Library()

# The test cards shown under the sandbox's card form (the full list is in the README).
LISTED_TEST_CARDS = (
    ("pm_card_visa", "succeeds"),
    ("pm_card_mastercard", "succeeds"),
    ("pm_card_chargeDeclined", "declined"),
    ("pm_card_chargeDeclinedInsufficientFunds", "declined: insufficient funds"),
    ("pm_card_sandboxUnavailable", "the gateway is down"),
)


def _spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


@register.inclusion_tag("payments/_card_element.html")
def card_element(
    *, name: str = "payment_method", saved=(), legend: str = "Card", errors=(), element_id: str = "card", chosen=None
):
    """``saved``: the customer's saved cards (offered as radios before "Use a new card"), the first one chosen.
    ``chosen``: the token the form posted, when it comes back: its saved card stays chosen, and any other
    value chooses "Use a new card" (a new card's token is never shown again)."""
    sandbox = settings.PAYMENTS_GATEWAY == "sandbox"
    saved = list(saved)
    tokens = [method.token for method in saved]
    if chosen is None:
        chosen = tokens[0] if tokens else ""
    return {
        "name": name,
        "saved": saved,
        "chosen": chosen if chosen in tokens else "",
        "legend": legend,
        "errors": list(errors),
        "id": element_id,
        "gateway": settings.PAYMENTS_GATEWAY,
        "stripe_key": settings.STRIPE_PUBLISHABLE_KEY,
        "sandbox_cards": {card.number: token for token, card in TEST_CARDS.items()} if sandbox else {},
        "listed_cards": [(_spaced(TEST_CARDS[token].number), outcome) for token, outcome in LISTED_TEST_CARDS]
        if sandbox
        else [],
    }
