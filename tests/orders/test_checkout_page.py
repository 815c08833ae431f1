"""The one-page checkout as a shopper sees it: contact, address, delivery, payment and the total on one page, one
POST to place the order; without JavaScript "Update delivery options" re-quotes; errors next to their fields."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from inventory import services as inventory_services
from orders.models import Order
from payments.models import Payment
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db

NEW_YORK = {**ADDRESS, "city": "Brooklyn", "region": "NY", "postal_code": "11201", "email": "guest@example.com"}
PAY = {"shipping_method": "standard", "payment_method": "pm_card_visa"}
FRAGMENT = {"HTTP_X_CHECKOUT_FRAGMENT": "1"}


def _with_basket(sku: str = "TEE-M", quantity: int = 1) -> Client:
    client = Client()
    client.post("/basket/add/", {"sku": sku, "quantity": quantity})
    return client


def _total_on(page: str) -> str:
    return re.search(r'name="expected_total_minor" value="(\d+)"', page).group(1)


def _checked_method(page: str) -> str:
    return re.search(r'name="shipping_method" value="(\w+)" checked', page).group(1)


def test_contact_address_delivery_payment_and_the_total_are_one_page(shop):
    page = _with_basket().get("/checkout/").content.decode()

    for heading in ("Contact", "Delivery address", "Delivery method", "Payment", "Order summary"):
        assert f">{heading}</h2>" in page
    assert 'name="email"' in page
    assert "Delivery to United States" in page
    assert 'value="standard" checked' in page  # the first option is chosen, and the total is its total
    assert "Standard</span>\n        <span>$4.99</span>" in page
    assert "Express</span>\n        <span>$14.99</span>" in page
    assert "Total to pay: <strong>$24.99</strong>" in page
    assert _total_on(page) == "2499"
    assert "<dt>Delivery: Standard</dt><dd>$4.99</dd>" in page
    assert 'data-card-element="sandbox"' in page
    assert (
        '<button type="submit" name="intent" value="place" class="button-pay" data-pay>Pay and place order</button>'
        in page
    )
    # Without JavaScript these re-quote; the first submit button, so Enter in a field never pays.
    assert page.index('value="update" formnovalidate') < page.index('value="place"')
    assert "/static/orders/checkout.js" in page


def test_country_is_a_select_of_the_countries_we_ship_to(shop):
    page = _with_basket().get("/checkout/").content.decode()
    assert '<select name="country" data-requote="" id="id_country">' in page
    assert '<option value="GB">United Kingdom</option>' in page
    assert '<option value="US" selected>United States</option>' in page
    assert '<option value="BR"' not in page  # no zone ships to Brazil


def test_a_guest_checks_out_in_one_post(shop, available):
    client = _with_basket(quantity=2)
    page = client.get("/checkout/").content.decode()

    response = client.post("/checkout/", {**NEW_YORK, **PAY, "expected_total_minor": _total_on(page)})

    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.number}/confirmation/"
    assert (order.status, order.email, order.total_minor, order.shipping_method) == (
        "confirmed",
        "guest@example.com",
        4499,
        "standard",
    )
    assert order.shipping_address["region"] == "NY"
    assert available("TEE-M") == 3
    for url in (f"/orders/{order.number}/confirmation/", f"/orders/{order.number}/"):
        assert "Brooklyn, NY 11201<br>United States" in client.get(url).content.decode(), url


def test_without_javascript_changing_the_country_requotes_and_keeps_what_was_entered(shop):
    client = _with_basket()
    client.get("/checkout/")

    response = client.post(
        "/checkout/",
        {**NEW_YORK, "country": "GB", "shipping_method": "express", "payment_method": "", "intent": "update"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Delivery to United Kingdom" in page
    assert "Standard</span>\n        <span>$8.99</span>" in page
    assert _checked_method(page) == "express"  # offered there too: still chosen
    assert "Total to pay: <strong>$39.99</strong>" in page and _total_on(page) == "3999"  # 20.00 + UK express 19.99
    assert 'value="Brooklyn"' in page and 'value="guest@example.com"' in page
    assert '<option value="GB" selected>United Kingdom</option>' in page
    assert "form-errors" not in page and "aria-invalid" not in page  # an update is not a submission
    assert Order.objects.count() == 0


def test_a_method_not_offered_for_the_new_country_falls_back_to_the_first(shop):
    client = _with_basket()
    page = client.post("/checkout/", {**NEW_YORK, "country": "JP", "shipping_method": "express", "intent": "update"})
    page = page.content.decode()
    assert "International standard" in page and "Express" not in page
    assert _checked_method(page) == "standard"
    assert _total_on(page) == "3999"  # 20.00 + 19.99


def test_the_script_gets_the_delivery_options_total_and_summary_only(shop):
    client = _with_basket()
    response = client.post("/checkout/", {"country": "DE", "shipping_method": "", "intent": "update"}, **FRAGMENT)

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert re.findall(r'<div id="([\w-]+)">', fragment) == [
        "checkout-delivery",
        "checkout-total",
        "checkout-summary",
    ]
    assert "Delivery to Germany" in fragment
    assert "Total to pay: <strong>$29.99</strong>" in fragment and _total_on(fragment) == "2999"  # EU standard 9.99
    assert "<dt>Delivery: Standard</dt><dd>$9.99</dd>" in fragment
    assert Order.objects.count() == 0


def test_a_country_we_do_not_ship_to_is_a_field_error(shop):
    page = _with_basket().post("/checkout/", {**NEW_YORK, **PAY, "country": "BR"}).content.decode()
    assert "Select a valid choice. BR is not one of the available choices." in page
    assert "We do not deliver to BR yet" in page  # (not in the select: only a saved address or a forged post)
    assert "The total appears once a delivery method is chosen." in page
    assert Order.objects.count() == 0


def test_field_errors_are_next_to_their_fields_and_announced(shop):
    page = _with_basket().post("/checkout/", {"email": "guest@example.com", "country": "US"}).content.decode()
    assert 'role="alert" aria-live="assertive"' in page
    assert "Please check 6 things below." in page  # name, line 1, city, postal code, delivery method, card
    assert 'aria-invalid="true" aria-describedby="id_name_error"' in page
    assert '<p class="error-text" id="id_name_error">This field is required.</p>' in page
    assert '<p class="error-text" id="shipping-method-error">Choose a delivery method.</p>' in page
    assert 'data-card-errors role="alert" aria-live="assertive">Enter your card details.</p>' in page
    assert _total_on(page) == "2499"  # the page still shows the total of the first option
    assert Order.objects.count() == 0


def test_a_guest_without_an_email_is_asked_for_one(shop):
    page = _with_basket().post("/checkout/", {**NEW_YORK, **PAY, "email": ""}).content.decode()
    assert '<p class="error-text" id="id_email_error">We need your email address to send the receipt.</p>' in page
    assert Order.objects.count() == 0


def test_a_card_number_is_refused_next_to_the_card_and_never_shown_again(shop):
    page = (
        _with_basket()
        .post(
            "/checkout/", {**NEW_YORK, **PAY, "payment_method": "4111 1111 1111 1111", "expected_total_minor": "2499"}
        )
        .content.decode()
    )
    assert "Send a payment-method token, not a card number." in page
    assert "4111" not in page
    assert (Order.objects.count(), Payment.objects.count()) == (0, 0)


def test_a_total_that_changed_since_the_page_was_shown_is_not_charged(shop):
    client = _with_basket()
    seen = _total_on(client.get("/checkout/").content.decode())
    inventory_services.variant_price_set(sku="TEE-M", price_minor=2200)

    response = client.post("/checkout/", {**NEW_YORK, **PAY, "expected_total_minor": seen})

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "The total changed from $24.99 to $26.99 since this page was shown (a price, the stock or delivery changed). "
        "Nothing was charged: check your order and press Pay and place order again." in page
    )
    assert "Total to pay: <strong>$26.99</strong>" in page and _total_on(page) == "2699"
    assert 'value="Brooklyn"' in page  # nothing typed is lost
    assert (Order.objects.count(), Payment.objects.count()) == (0, 0)

    client.post("/checkout/", {**NEW_YORK, **PAY, "expected_total_minor": "2699"})
    assert Order.objects.get().total_minor == 2699


def test_a_country_changed_without_an_update_shows_the_new_total_before_charging(shop):
    client = _with_basket()
    seen = _total_on(client.get("/checkout/").content.decode())  # US standard

    page = client.post("/checkout/", {**NEW_YORK, **PAY, "country": "GB", "expected_total_minor": seen})

    page = page.content.decode()
    assert "The total changed from $24.99 to $28.99" in page  # UK standard 8.99
    assert "Delivery to United Kingdom" in page and _total_on(page) == "2899"
    assert Order.objects.count() == 0


def _mugs_sold_out_under(client: Client) -> None:
    """Another guest buys 3 of the 5 mugs while ``client`` (4 in the basket) is on the checkout page."""
    _with_basket("MUG", 3).post("/checkout/", {**NEW_YORK, **PAY, "email": "quick@example.com"})


def test_stock_gone_before_paying_sends_the_shopper_to_the_basket(shop):
    client = _with_basket("MUG", 4)
    client.get("/checkout/")
    _mugs_sold_out_under(client)

    response = client.post("/checkout/", {**NEW_YORK, **PAY, "expected_total_minor": "5000"}, follow=True)

    assert response.redirect_chain == [("/basket/", 302)]
    assert "Only 2 of Mug left; please lower the quantity." in response.content.decode()
    assert Order.objects.get().email == "quick@example.com"  # only the other shopper's order


def test_the_address_entered_comes_back_after_a_detour_to_the_basket(shop):
    client = _with_basket("MUG", 4)
    client.get("/checkout/")
    _mugs_sold_out_under(client)
    assert client.post("/checkout/", {**NEW_YORK, **PAY, "country": "GB"})["Location"] == "/basket/"

    line_id = client.get("/basket/").context["basket"].lines[0].id
    client.post(f"/basket/lines/{line_id}/", {"quantity": 2})
    page = client.get("/checkout/").content.decode()

    assert 'value="Brooklyn"' in page and 'value="guest@example.com"' in page
    assert '<option value="GB" selected>United Kingdom</option>' in page
    assert "Delivery to United Kingdom" in page
    assert 'value="pm_card_visa"' not in page  # never the card's token


def test_the_old_step_pages_lead_to_the_one_page(shop):
    client = _with_basket()
    for step in ("shipping", "payment", "review"):
        response = client.get(f"/checkout/{step}/")
        assert (response.status_code, response["Location"]) == (301, "/checkout/")
    # The review page's "Place order" in a tab opened before: it arrives as a page to check, nothing is placed.
    response = client.post("/checkout/review/", {"expected_total_minor": "2499"}, follow=True)
    assert response.redirect_chain == [("/checkout/", 301)]
    assert "Pay and place order" in response.content.decode()
    assert Order.objects.count() == 0


def test_the_script_is_sent_to_the_basket_when_it_emptied(shop):
    client = _with_basket()
    line_id = client.get("/basket/").context["basket"].lines[0].id
    client.post(f"/basket/lines/{line_id}/remove/")

    response = client.post("/checkout/", {"country": "US", "intent": "update"}, **FRAGMENT)

    assert (response.status_code, response["X-Checkout-Location"], response.content) == (200, "/basket/", b"")
    assert "Your basket is empty." in client.get("/basket/").content.decode()  # the message waits for the page


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
    inventory_services.stock_receive(sku="HOOD-L", warehouse_code="east", quantity=2, reference="initial")
    client = Client()
    client.force_login(customer)
    client.post("/basket/add/", {"sku": "HOOD-L", "quantity": 1})
    page = client.get("/checkout/").content.decode()
    assert "Signed in as <strong>" in page and 'name="email"' not in page
    client.post("/checkout/", {**NEW_YORK, **PAY, "expected_total_minor": _total_on(page)})
    order = Order.objects.get()
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert 'Heavyweight Hoodie<br><span class="muted">Large / Forest green</span>' in page
    assert "<h2>Delivery address</h2>" in page
    assert "Casey Customer<br>1 Main Street<br>Brooklyn, NY 11201<br>United States" in page


def test_a_checkout_begun_on_the_four_step_pages_opens_the_one_page(shop, customer):
    from tests.users.factories import AddressFactory

    saved = AddressFactory(user=customer, name="Casey Home", line1="7 Home Row", city="Hometown", postal_code="11111")
    client = Client()
    client.force_login(customer)
    client.post("/basket/add/", {"sku": "TEE-M", "quantity": 1})
    session = client.session
    session["orders.checkout"] = {  # what the step pages kept in the session before the deploy
        "address": {**ADDRESS},
        "email": "",
        "shipping_method": "express",
        "payment_method": "pm_card_visa",
    }
    session.save()

    page = client.get("/checkout/").content.decode()

    assert f'<option value="{saved.public_id}" selected>' in page  # the default address, as for anyone
    assert _checked_method(page) == "express"
    assert _total_on(page) == "3499"  # 20.00 + express 14.99
