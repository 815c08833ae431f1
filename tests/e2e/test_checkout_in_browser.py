"""Buying in a real browser: product page → basket (htmx update) → the one checkout page → confirmation.

With JavaScript the delivery options and the total follow the country and the method in place; without it the
page's "Update delivery options" and "Update total" buttons do the same through the server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from flowmart.users.demo import DEMO_PASSWORD
from inventory import services as inventory_services
from orders.models import Order
from payments.services import payment_method_attach
from shipping.demo import seed_demo_shipping
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mug(db):
    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    product = ProductFactory(name="Enamel Mug", slug="enamel-mug")
    VariantFactory(sku="MUG-E", price_minor=1250, weight_grams=300, product=product)
    inventory_services.stock_receive(sku="MUG-E", warehouse_code="east", quantity=6, reference="initial")
    return product


def _documents(page) -> list[str]:
    """Every page the browser loads as a document (method and path), not the script's fetches."""
    loaded: list[str] = []
    page.on(
        "request",
        lambda r: (
            loaded.append(f"{r.method} {re.sub(r'^https?://[^/]+', '', r.url)}")
            if r.resource_type == "document"
            else None
        ),
    )
    return loaded


def _address(page, *, email: str, name: str, line1: str, city: str, postal_code: str, region: str = "") -> None:
    page.get_by_label("Email for your receipt").fill(email)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Address line 1").fill(line1)
    page.get_by_label("City").fill(city)
    if region:
        page.get_by_label("State / region").fill(region)
    page.get_by_label("Postal code").fill(postal_code)


def _card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry date").fill("11 / 33")
    page.get_by_label("Security code").fill("999")


def test_guest_checkout_in_the_browser(page, mug):
    page.goto("/products/enamel-mug/")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
    expect(page.get_by_text("$12.50").first).to_be_visible()

    # htmx: the quantity change re-renders the basket in place.
    page.get_by_label("Quantity of Enamel Mug").fill("4")
    page.get_by_label("Quantity of Enamel Mug").dispatch_event("change")
    expect(page.get_by_role("row", name=re.compile("Subtotal"))).to_contain_text("$50.00")

    documents = _documents(page)
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url + " " + (request.post_data or "")))
    page.get_by_role("link", name="Check out").click()
    total = page.locator("#checkout-total")
    summary = page.get_by_role("complementary", name="Order summary")
    expect(total).to_have_text("Total to pay: $50.00")  # standard is free from $50
    expect(page.get_by_role("button", name="Update delivery options")).to_be_hidden()  # the script does it
    _address(
        page,
        email="browser-guest@example.com",
        name="Bea Browser",
        line1="5 Chromium Court",
        city="Headless",
        postal_code="10001",
    )

    # Another country: its delivery options and total, in place.
    page.get_by_label("Country").select_option("GB")
    expect(page.get_by_role("group", name="Delivery to United Kingdom")).to_be_visible()
    expect(total).to_have_text("Total to pay: $63.99")  # 50.00 + UK standard (1.2 kg) 13.99
    page.get_by_label("Country").select_option("US")
    expect(page.get_by_role("group", name="Delivery to United States")).to_be_visible()
    page.get_by_label("Express").check()
    expect(total).to_have_text("Total to pay: $69.99")  # 50.00 + express (1.2 kg band) 19.99
    expect(summary).to_contain_text("Delivery: Express")
    expect(page.get_by_label("Express")).to_be_focused()  # the options were replaced; focus stays on the choice
    page.get_by_label("Postal code").press("Enter")  # Enter in a field updates, it never pays
    expect(page.get_by_role("button", name="Pay and place order")).to_be_enabled()

    # The card element: a typo is caught in the browser, then the real test card.
    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_label("Expiry date").fill("1234")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay and place order").click()
    expect(page.get_by_role("alert")).to_have_text("Your card number is incomplete or invalid.")
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Card number").fill("4242424242424242")
    expect(page.get_by_label("Card number")).to_have_value("4242 4242 4242 4242")
    expect(page.get_by_label("Expiry date")).to_have_value("12 / 34")
    page.get_by_role("button", name="Pay and place order").click()

    expect(page.get_by_role("heading", name=re.compile("Thank you! Your order"))).to_be_visible()
    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Thank you! Your order {order.number} is confirmed.")).to_be_visible()
    assert order.total_minor == 6999
    # Two page loads for the whole checkout: the page, and the POST that paid (then its confirmation).
    assert documents == [
        "GET /checkout/",
        "POST /checkout/",
        f"GET /orders/{order.number}/confirmation/",
    ]
    # The total placed is the one shown, and the card number never left the browser: only the sandbox's token.
    [placed] = [request for request in posted if "intent=place" in request]
    assert "payment_method=pm_card_visa" in placed and "expected_total_minor=6999" in placed
    assert not [request for request in posted if "4242" in request]
    page.get_by_role("link", name="Follow your order").click()
    expect(page.get_by_role("listitem").filter(has_text="Order confirmed")).to_be_visible()


def test_a_declined_test_card_then_another_card_on_the_order_page(page, mug):
    page.goto("/products/enamel-mug/")
    page.get_by_role("button", name="Add to basket").click()
    page.get_by_role("link", name="Check out").click()
    _address(
        page,
        email="declined@example.com",
        name="Dee Clined",
        line1="2 Bounce Road",
        city="Albany",
        region="NY",
        postal_code="12207",
    )
    _card(page, "4000 0000 0000 0002")  # the sandbox's "declined" card
    page.get_by_role("button", name="Pay and place order").click()

    expect(page.get_by_text("Your payment was declined (generic_decline).")).to_be_visible()
    expect(page.get_by_text("Albany, NY 12207")).to_be_visible()
    _card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"Pay \$")).click()
    expect(page.get_by_text("Thank you: your payment went through and your order is confirmed.")).to_be_visible()
    order = Order.objects.get()
    assert order.status == "confirmed"


def test_the_checkout_works_without_javascript(browser, live_server, mug):
    """A signed-in customer with a saved card (a new card needs the card element's script) and no JavaScript."""
    customer = UserFactory(email="nojs@example.com", full_name="Noah Script")
    payment_method_attach(user_id=str(customer.public_id), token="pm_card_visa")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(customer.email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.goto("/products/enamel-mug/")
        page.get_by_role("button", name="Add to basket").click()
        page.get_by_role("link", name="Check out").click()

        page.get_by_label("Full name").fill("Noah Script")
        page.get_by_label("Address line 1").fill("3 Plain Street")
        page.get_by_label("City").fill("London")
        page.get_by_label("Postal code").fill("N1 9GU")
        page.get_by_label("Country").select_option("GB")
        page.get_by_role("button", name="Update delivery options").click()
        expect(page.get_by_role("group", name="Delivery to United Kingdom")).to_be_visible()
        expect(page.get_by_label("City")).to_have_value("London")  # nothing entered is lost
        expect(page.locator("#checkout-total")).to_have_text("Total to pay: $21.49")  # 12.50 + UK standard 8.99

        page.get_by_label("Express").check()
        page.get_by_role("button", name="Update total").click()
        expect(page.locator("#checkout-total")).to_have_text("Total to pay: $32.49")  # 12.50 + UK express 19.99
        expect(page.get_by_label(re.compile("Visa"))).to_be_checked()
        page.get_by_role("button", name="Pay and place order").click()

        expect(page.get_by_role("heading", name=re.compile("Thank you! Your order"))).to_be_visible()
        order = Order.objects.get()
        assert (order.total_minor, order.shipping_method, order.shipping_address["country"]) == (3249, "express", "GB")
    finally:
        context.close()


def test_the_update_button_works_when_the_page_script_does_not_load(page, mug):
    """The card element's script is there, the checkout's is not (blocked): "Update delivery options" goes to the
    server, and the card element does not stop it for want of a card."""
    page.route("**/static/orders/checkout.js", lambda route: route.abort())
    page.goto("/products/enamel-mug/")
    page.get_by_role("button", name="Add to basket").click()
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Email for your receipt").fill("blocked@example.com")
    page.get_by_label("Country").select_option("DE")

    page.get_by_role("button", name="Update delivery options").click()

    expect(page.get_by_role("group", name="Delivery to Germany")).to_be_visible()
    expect(page.locator("#checkout-total")).to_have_text("Total to pay: $22.49")  # 12.50 + EU standard 9.99
    expect(page.get_by_label("Email for your receipt")).to_have_value("blocked@example.com")
    assert Order.objects.count() == 0


def test_a_price_that_changed_before_paying_brings_the_page_back_with_the_new_total(page, mug):
    page.goto("/products/enamel-mug/")
    page.get_by_role("button", name="Add to basket").click()
    page.get_by_role("link", name="Check out").click()
    _address(page, email="late@example.com", name="Lee Late", line1="4 Slow Street", city="Albany", postal_code="12207")
    expect(page.locator("#checkout-total")).to_have_text("Total to pay: $17.49")
    inventory_services.variant_price_set(sku="MUG-E", price_minor=1500)
    _card(page, "4242 4242 4242 4242")

    page.get_by_role("button", name="Pay and place order").click()

    problems = page.locator(".form-errors")
    expect(problems).to_contain_text("The total changed from $17.49 to $19.99")
    expect(problems).to_be_focused()
    expect(page.locator("#checkout-total")).to_have_text("Total to pay: $19.99")
    expect(page.get_by_label("City")).to_have_value("Albany")
    assert Order.objects.count() == 0
    _card(page, "4242 4242 4242 4242")  # card details are never sent back to the page: typed again
    page.get_by_role("button", name="Pay and place order").click()
    expect(page.get_by_role("heading", name=re.compile("Thank you! Your order"))).to_be_visible()
    assert Order.objects.get().total_minor == 1999
