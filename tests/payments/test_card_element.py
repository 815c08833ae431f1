"""The storefront's card forms: the card number, expiry and CVC inputs are never posted.

Every card form renders the gateway's card element; its card inputs have no ``name``, so a
browser cannot send them, and the one named input is the token the gateway's script fills in.
The sandbox's test-card numbers come from the one table in payments/gateways/sandbox.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from payments.gateways.sandbox import TEST_CARDS
from tests.orders.conftest import ADDRESS, shop  # noqa: F401 (the shop fixture)
from tests.subscriptions.factories import PlanFactory

pytestmark = pytest.mark.django_db

CARD_AUTOCOMPLETE = {"cc-number", "cc-exp", "cc-csc"}


class FormInputs(HTMLParser):
    """Every <input> and <script src> of a page, with its attributes."""

    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input":
            self.inputs.append(attributes)
        elif tag == "script" and attributes.get("src"):
            self.scripts.append(attributes["src"])


def _parse(html: str) -> FormInputs:
    parser = FormInputs()
    parser.feed(html)
    return parser


def _assert_card_element(html: str, *, token_name: str) -> FormInputs:
    page = _parse(html)
    card_inputs = [i for i in page.inputs if i.get("autocomplete") in CARD_AUTOCOMPLETE]
    assert sorted(i["autocomplete"] for i in card_inputs) == ["cc-csc", "cc-exp", "cc-number"]
    assert all("name" not in i for i in card_inputs)  # the browser cannot post what has no name
    [token] = [i for i in page.inputs if "data-card-token" in i]
    assert token["name"] == token_name
    assert "/static/payments/sandbox-elements.js" in page.scripts
    assert not any("js.stripe.com" in src for src in page.scripts)
    return page


def _luhn_valid(number: str) -> bool:
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_every_sandbox_token_has_a_real_looking_test_number():
    for token, card in TEST_CARDS.items():
        assert _luhn_valid(card.number), token
        assert card.last4 == card.number[-4:]
    assert len({card.number for card in TEST_CARDS.values()}) == len(TEST_CARDS)
    assert TEST_CARDS["pm_card_visa"].number == "4242424242424242"
    assert TEST_CARDS["pm_card_chargeDeclined"].number == "4000000000000002"


def test_the_readme_test_cards_are_the_sandboxes():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Test cards (sandbox gateway)", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([\d ]+)` \| `(pm_\w+)` \|", section, flags=re.M)
    assert len(rows) >= 8
    for number, token in rows:
        assert TEST_CARDS[token].number == number.replace(" ", ""), token


@pytest.mark.usefixtures("shop")
def test_the_checkout_page_posts_only_a_token(customer):
    client = Client()
    client.force_login(customer)
    client.post("/basket/add/", {"sku": "MUG", "quantity": 1})
    html = client.get("/checkout/").content.decode()
    page = _assert_card_element(html, token_name="payment_method")

    # The page hands the sandbox's script the gateway's own table of test cards.
    table = re.search(r'<script id="sandbox-test-cards" type="application/json">(.*?)</script>', html).group(1)
    assert json.loads(table) == {card.number: token for token, card in TEST_CARDS.items()}
    # Nothing a browser would post from this form carries a card number.
    posted = [i.get("value", "") for i in page.inputs if i.get("name")]
    assert not any(re.fullmatch(r"[\d ]{12,}", value) for value in posted)

    response = client.post("/checkout/", {**ADDRESS, "shipping_method": "standard", "payment_method": ""})
    assert response.status_code == 200
    assert "Enter your card details." in response.content.decode()


def test_saved_cards_page_posts_only_a_token(customer):
    client = Client()
    client.force_login(customer)
    _assert_card_element(client.get(reverse("payments:saved_cards")).content.decode(), token_name="token")


def test_membership_sign_up_posts_only_a_token(customer):
    PlanFactory(code="plus-monthly", name="FlowMart Plus", price_minor=999)
    client = Client()
    client.force_login(customer)
    html = client.get(reverse("subscriptions:subscribe", args=["plus-monthly"])).content.decode()
    _assert_card_element(html, token_name="payment_method")
    assert "Card token" not in html


def test_with_stripe_the_card_is_stripe_elements(customer, settings):
    settings.PAYMENTS_GATEWAY = "stripe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_flowmart"
    client = Client()
    client.force_login(customer)
    html = client.get(reverse("payments:saved_cards")).content.decode()
    page = _parse(html)
    assert "https://js.stripe.com/v3/" in page.scripts
    assert "/static/payments/stripe-elements.js" in page.scripts
    assert "/static/payments/sandbox-elements.js" not in page.scripts
    assert 'data-publishable-key="pk_test_flowmart"' in html
    assert not [i for i in page.inputs if i.get("autocomplete") in CARD_AUTOCOMPLETE]  # Stripe's iframe has them
    assert "sandbox-test-cards" not in html
