"""A guest buys in a real browser: product page → basket (htmx update) → checkout steps → confirmation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from inventory import services as inventory_services
from orders.models import Order
from shipping.demo import seed_demo_shipping
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mug(db):
    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    product = ProductFactory(name="Enamel Mug", slug="enamel-mug")
    VariantFactory(sku="MUG-E", price_minor=1250, weight_grams=300, product=product)
    inventory_services.stock_receive(sku="MUG-E", warehouse_code="east", quantity=6, reference="initial")
    return product


def test_guest_checkout_in_the_browser(page, mug):
    page.goto("/products/enamel-mug/")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
    expect(page.get_by_text("$12.50").first).to_be_visible()

    # htmx: the quantity change re-renders the basket in place.
    page.get_by_label("Quantity of Enamel Mug").fill("4")
    page.get_by_label("Quantity of Enamel Mug").dispatch_event("change")
    expect(page.get_by_role("row", name=re.compile("Subtotal"))).to_contain_text("$50.00")

    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Email for your receipt").fill("browser-guest@example.com")
    page.get_by_label("Full name").fill("Bea Browser")
    page.get_by_label("Address line 1").fill("5 Chromium Court")
    page.get_by_label("City").fill("Headless")
    page.get_by_label("Postal code").fill("10001")
    page.get_by_role("button", name="Continue to shipping").click()

    page.get_by_text("Express").click()
    page.get_by_role("button", name="Continue to payment").click()

    # The card element: a declined-looking typo is caught in the browser, then the real test card.
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url + " " + (request.post_data or "")))
    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_label("Expiry date").fill("1234")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Review your order").click()
    expect(page.get_by_role("alert")).to_have_text("Your card number is incomplete or invalid.")
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Card number").fill("4242424242424242")
    expect(page.get_by_label("Card number")).to_have_value("4242 4242 4242 4242")
    expect(page.get_by_label("Expiry date")).to_have_value("12 / 34")
    page.get_by_role("button", name="Review your order").click()
    expect(page.get_by_role("button", name=re.compile(r"Place order · \$69\.99"))).to_be_visible()
    page.get_by_role("button", name=re.compile("Place order")).click()

    expect(page.get_by_role("heading", name=re.compile("Thank you! Your order"))).to_be_visible()
    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Thank you! Your order {order.number} is confirmed.")).to_be_visible()
    # The card number never left the browser: only the sandbox's token was posted.
    assert any("payment_method=pm_card_visa" in request for request in posted)
    assert not [request for request in posted if "4242" in request]
    page.get_by_role("link", name="Follow your order").click()
    expect(page.get_by_role("listitem").filter(has_text="Order confirmed")).to_be_visible()
    assert order.total_minor == 6999  # 4 × 12.50 + express (1.2 kg band) 19.99


def _pay_with(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry date").fill("11 / 33")
    page.get_by_label("Security code").fill("999")


def test_a_declined_test_card_then_another_card_on_the_order_page(page, mug):
    page.goto("/products/enamel-mug/")
    page.get_by_role("button", name="Add to basket").click()
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Email for your receipt").fill("declined@example.com")
    page.get_by_label("Full name").fill("Dee Clined")
    page.get_by_label("Address line 1").fill("2 Bounce Road")
    page.get_by_label("City").fill("Albany")
    page.get_by_label("State / region").fill("NY")
    page.get_by_label("Postal code").fill("12207")
    page.get_by_role("button", name="Continue to shipping").click()
    page.get_by_role("button", name="Continue to payment").click()
    _pay_with(page, "4000 0000 0000 0002")  # the sandbox's "declined" card
    page.get_by_role("button", name="Review your order").click()
    page.get_by_role("button", name=re.compile("Place order")).click()

    expect(page.get_by_text("Your payment was declined (generic_decline).")).to_be_visible()
    expect(page.get_by_text("Albany, NY 12207")).to_be_visible()
    _pay_with(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"Pay \$")).click()
    expect(page.get_by_text("Thank you: your payment went through and your order is confirmed.")).to_be_visible()
    order = Order.objects.get()
    assert order.status == "confirmed"
