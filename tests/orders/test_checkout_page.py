"""The checkout pages as a shopper sees them: steps, summary, country select, region, errors, limits."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from orders.models import Order
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db

NEW_YORK = {**ADDRESS, "city": "Brooklyn", "region": "NY", "postal_code": "11201", "email": "guest@example.com"}


def _with_basket(sku: str = "TEE-M", quantity: int = 1) -> Client:
    client = Client()
    client.post("/basket/add/", {"sku": sku, "quantity": quantity})
    return client


def test_country_is_a_select_of_the_countries_we_ship_to(shop):
    page = _with_basket().get("/checkout/").content.decode()
    assert '<select name="country"' in page
    assert '<option value="GB">United Kingdom</option>' in page
    assert '<option value="US" selected>United States</option>' in page
    assert '<option value="BR"' not in page  # no zone ships to Brazil


def test_a_country_we_do_not_ship_to_is_a_field_error(shop):
    response = _with_basket().post("/checkout/", {**NEW_YORK, "country": "BR"})
    page = response.content.decode()
    assert "Select a valid choice. BR is not one of the available choices." in page


def test_every_step_marks_where_you_are_and_shows_the_order_summary(shop):
    client = _with_basket()
    page = client.get("/checkout/").content.decode()
    assert 'aria-current="step"><span class="step-number" aria-hidden="true">1</span> Address' in page
    assert "Order summary" in page and "$20.00" in page

    client.post("/checkout/", NEW_YORK)
    page = client.get("/checkout/shipping/").content.decode()
    assert 'aria-current="step"><span class="step-number" aria-hidden="true">2</span> Shipping' in page
    assert '<a href="/checkout/">Address</a>' in page  # a finished step links back
    assert "Order summary" in page and "Brooklyn, NY 11201" in page

    client.post("/checkout/shipping/", {"shipping_method": "standard"})
    page = client.get("/checkout/payment/").content.decode()
    assert 'aria-current="step"><span class="step-number" aria-hidden="true">3</span> Payment' in page
    assert "Order summary" in page

    client.post("/checkout/payment/", {"payment_method": "pm_card_visa"})
    page = client.get("/checkout/review/").content.decode()
    assert 'aria-current="step"><span class="step-number" aria-hidden="true">4</span> Review' in page
    assert "Order summary" in page
    assert page.count("Brooklyn, NY 11201") == 2  # review body and summary


def test_the_region_is_kept_and_printed_on_the_order_page(shop):
    client = _with_basket()
    client.post("/checkout/", NEW_YORK)
    client.post("/checkout/shipping/", {"shipping_method": "standard"})
    client.post("/checkout/payment/", {"payment_method": "pm_card_visa"})
    client.post("/checkout/review/", {"expected_total_minor": "2499"})
    order = Order.objects.get()
    assert order.shipping_address["region"] == "NY"
    for url in (f"/orders/{order.number}/confirmation/", f"/orders/{order.number}/"):
        page = client.get(url).content.decode()
        assert "Brooklyn, NY 11201<br>United States" in page, url


def test_field_errors_are_styled_and_announced(shop):
    page = _with_basket().post("/checkout/", {"email": "guest@example.com", "country": "US"}).content.decode()
    assert 'role="alert" aria-live="assertive"' in page
    assert "Please check 4 things below." in page
    assert 'aria-invalid="true" aria-describedby="id_name_error"' in page
    assert '<p class="error-text" id="id_name_error">This field is required.</p>' in page


def test_the_page_and_the_server_have_the_same_quantity_limit(shop):
    limit = settings.BASKET_MAX_QUANTITY
    assert limit == 10
    product = shop["TEE-M"].product
    page = Client().get(f"/products/{product.slug}/").content.decode()
    assert f'name="quantity" value="1" min="1" max="{limit}"' in page

    client = Client()
    response = client.post("/basket/add/", {"sku": "TEE-M", "quantity": limit + 1}, follow=True)
    assert f"You can buy at most {limit} of one item." in response.content.decode()
    client.post("/basket/add/", {"sku": "TEE-M", "quantity": 1})
    assert f'min="0" max="{limit}"' in client.get("/basket/").content.decode()


def test_the_order_page_shows_the_variant_and_the_delivery_address(shop, customer):
    hoodie = ProductFactory(name="Heavyweight Hoodie")
    VariantFactory(sku="HOOD-L", name="Large / Forest green", product=hoodie, price_minor=5400)
    from inventory import services as inventory_services

    inventory_services.stock_receive(sku="HOOD-L", warehouse_code="east", quantity=2, reference="initial")
    client = Client()
    client.force_login(customer)
    client.post("/basket/add/", {"sku": "HOOD-L", "quantity": 1})
    client.post("/checkout/", {**NEW_YORK})
    client.post("/checkout/shipping/", {"shipping_method": "standard"})
    client.post("/checkout/payment/", {"payment_method": "pm_card_visa"})
    client.post("/checkout/review/", {"expected_total_minor": "5400"})
    order = Order.objects.get()
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert 'Heavyweight Hoodie<br><span class="muted">Large / Forest green</span>' in page
    assert "<h2>Delivery address</h2>" in page
    assert "Casey Customer<br>1 Main Street<br>Brooklyn, NY 11201<br>United States" in page
