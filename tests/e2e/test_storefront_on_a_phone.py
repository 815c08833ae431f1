"""The demo shop at phone width (390 px) and on a desktop: every main page fits the screen.

A guest walks home → category → product → basket → the checkout page → order page in the
demo catalog. At each page the document is no wider than the window (no sideways scrolling); on a
phone the category page shows products first with the filters behind a button, and the basket
fits. With SCREENSHOTS=1 the pages are saved under docs/screenshots/ (the committed ones came
from this test).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from inventory import services as inventory_services
from inventory.models import Product
from orders.models import Order
from shipping.demo import seed_demo_shipping

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOT_PAGES = {"home", "category", "product", "basket", "checkout", "order"}
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def demo_shop(db):
    call_command("seed_demo", verbosity=0)
    seed_demo_shipping()
    product = Product.objects.get(slug="weekend-hoodie-hoodies-1")
    for variant in product.variants.all():
        inventory_services.stock_receive(sku=variant.sku, warehouse_code="east", quantity=20, reference="e2e")
    return product


def _fits(page, width: int, name: str, device: str) -> None:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{name} is {scroll_width}px wide on a {width}px {device} screen"
    if os.environ.get("SCREENSHOTS") and name in SCREENSHOT_PAGES:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{device}-{name}.png"), full_page=device == "phone")


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_shop_fits_the_screen_from_home_to_order_page(browser, live_server, demo_shop, device):
    viewport = VIEWPORTS[device]
    width = viewport["width"]
    context = browser.new_context(base_url=live_server.url, viewport=viewport, device_scale_factor=1)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/")
        expect(page.get_by_role("heading", name="Shop by category")).to_be_visible()
        _fits(page, width, "home", device)

        page.goto("/c/hoodies/")
        first_product = page.locator(".product-card").first
        expect(first_product).to_be_visible()
        filters = page.get_by_role("form", name="Filter products")
        if device == "phone":
            # Products first; the filters wait behind a button.
            expect(filters).to_be_hidden()
            toggle = page.get_by_role("button", name="Filters & categories")
            expect(toggle).to_have_attribute("aria-expanded", "false")
            _fits(page, width, "category", device)
            toggle.click()
            expect(filters).to_be_visible()
            expect(toggle).to_have_attribute("aria-expanded", "true")
            _fits(page, width, "category-filters", device)
        else:
            expect(page.get_by_role("button", name="Filters & categories")).to_be_hidden()
            expect(filters).to_be_visible()
            _fits(page, width, "category", device)

        page.goto(f"/products/{demo_shop.slug}/")
        expect(page.get_by_role("heading", name="Weekend Hoodie")).to_be_visible()
        picture = page.get_by_role("img", name="Weekend Hoodie").first
        assert picture.get_attribute("width") == "480" and picture.get_attribute("height") == "360"
        _fits(page, width, "product", device)
        page.get_by_label("Quantity").fill("2")
        page.get_by_role("button", name="Add to basket").click()

        expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
        quantity = page.get_by_label(re.compile("Quantity of Weekend Hoodie"))
        expect(quantity).to_be_visible()
        expect(quantity).to_have_attribute("max", "10")
        box = quantity.bounding_box()
        assert box["x"] + box["width"] <= width  # the quantity field is on screen, not scrolled off
        _fits(page, width, "basket", device)

        page.get_by_role("link", name="Check out").click()
        expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
        page.get_by_label("Email for your receipt").fill("phone-guest@example.com")
        page.get_by_label("Full name").fill("Pat Phone")
        page.get_by_label("Address line 1").fill("9 Narrow Lane")
        page.get_by_label("City").fill("Portland")
        page.get_by_label("State / region").fill("OR")
        page.get_by_label("Postal code").fill("97201")
        page.get_by_label("Country").select_option("US")
        page.get_by_label("Express").check()
        expect(page.get_by_role("complementary", name="Order summary")).to_contain_text("Delivery: Express")
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry date").fill("12 / 34")
        page.get_by_label("Security code").fill("123")
        pay = page.get_by_role("button", name="Pay and place order")
        pay.scroll_into_view_if_needed()
        box = pay.bounding_box()
        assert box["x"] + box["width"] <= width  # the pay button is on screen, not scrolled off
        _fits(page, width, "checkout", device)
        pay.click()

        expect(page.get_by_role("heading", name=re.compile("Thank you! Your order"))).to_be_visible()
        order = Order.objects.get()
        page.goto(f"/orders/{order.number}/")
        expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
        expect(page.get_by_text("Portland, OR 97201")).to_be_visible()
        _fits(page, width, "order", device)
    finally:
        context.close()
