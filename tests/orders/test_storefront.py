"""The storefront: basket with htmx updates, the one-page checkout, the order page, basket merge at login."""

from __future__ import annotations

import pytest
from django.test import Client

from orders.models import Basket, Order
from tests.orders.conftest import ADDRESS
from tests.orders.shipping_steps import shipment_dispatched_publish

pytestmark = pytest.mark.django_db


def _signed_in_with(customer, sku: str) -> Client:
    c = Client()
    c.force_login(customer)
    c.post("/basket/add/", {"sku": sku, "quantity": 1})
    return c


def _place(c: Client, expected_total_minor: str, payment_method: str = "pm_card_visa", **fields):
    """The checkout page's one POST: address, standard delivery, the card's token and the total shown."""
    return c.post(
        "/checkout/",
        {
            **ADDRESS,
            "shipping_method": "standard",
            "payment_method": payment_method,
            "expected_total_minor": expected_total_minor,
            **fields,
        },
    )


def test_guest_buys_on_the_one_checkout_page(shop, available):
    c = Client()
    r = c.post("/basket/add/", {"sku": "TEE-M", "quantity": 2}, follow=True)
    assert r.status_code == 200
    assert "Added to your basket." in r.content.decode()
    assert "$40.00" in r.content.decode()

    page = c.get("/checkout/").content.decode()
    assert "Standard" in page and "Express" in page
    r = _place(c, "5499", shipping_method="express", email="")
    assert "We need your email address to send the receipt." in r.content.decode()
    assert "Total to pay: <strong>$54.99</strong>" in r.content.decode()  # 40.00 + express 14.99

    r = _place(c, "5499", shipping_method="express", email="guest@example.com")
    order = Order.objects.get()
    assert r["Location"] == f"/orders/{order.number}/confirmation/"
    page = c.get(r["Location"]).content.decode()
    assert f"Your order {order.number} is confirmed." in page
    assert available("TEE-M") == 3

    detail = c.get(f"/orders/{order.number}/").content.decode()
    assert "Status: <strong>Confirmed</strong>" in detail
    assert "Order confirmed" in detail
    assert "Cancel order" in detail
    assert "Your basket is empty." in c.get("/basket/").content.decode()
    # Another browser cannot see it.
    assert Client().get(f"/orders/{order.number}/").status_code == 404


def test_htmx_quantity_update_returns_the_basket_fragment(shop):
    c = Client()
    c.post("/basket/add/", {"sku": "MUG", "quantity": 1})
    line_id = Basket.objects.get().lines.get().pk

    r = c.post(f"/basket/lines/{line_id}/", {"quantity": 3}, HTTP_HX_REQUEST="true")

    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in html
    assert "$37.50" in html
    r = c.post(f"/basket/lines/{line_id}/", {"quantity": 9}, HTTP_HX_REQUEST="true")
    assert "Only 5 of" in r.content.decode()


def test_price_change_is_reported_once(shop):
    c = Client()
    c.post("/basket/add/", {"sku": "MUG", "quantity": 1})
    from inventory.services import variant_price_set

    variant_price_set(sku="MUG", price_minor=1500)
    first = c.get("/basket/").content.decode()
    assert "went up from $12.50 to $15.00" in first
    assert "went up" not in c.get("/basket/").content.decode()


def test_guest_basket_merges_into_the_customer_basket_at_login(shop, customer, password):
    c = Client()
    c.post("/basket/add/", {"sku": "MUG", "quantity": 2})
    customer_basket = Basket.objects.create(user=customer)
    customer_basket.lines.create(sku="MUG", quantity=1, seen_unit_price_minor=1250)
    customer_basket.lines.create(sku="TEE-M", quantity=1, seen_unit_price_minor=2000)

    r = c.post("/accounts/login/", {"login": customer.email, "password": password})
    assert r.status_code == 302

    assert Basket.objects.count() == 1
    assert sorted(Basket.objects.get(user=customer).lines.values_list("sku", "quantity")) == [("MUG", 3), ("TEE-M", 1)]


def test_customer_cancels_from_the_order_page(shop, customer, available, password):
    c = _signed_in_with(customer, "TEE-M")
    _place(c, "2499")
    order = Order.objects.get()
    assert order.status == "confirmed"
    assert order.number in c.get("/orders/").content.decode()

    r = c.post(f"/orders/{order.number}/cancel/", {"reason": "ordered twice"}, follow=True)

    assert f"Order {order.number} is cancelled." in r.content.decode()
    assert available("TEE-M") == 5


def test_declined_card_lands_on_the_order_page_with_retry(shop, customer):
    c = _signed_in_with(customer, "MUG")
    r = _place(c, "1749", payment_method="pm_card_chargeDeclined")
    order = Order.objects.get()
    assert r["Location"] == f"/orders/{order.number}/"
    html = c.get(r["Location"]).content.decode()
    assert "Your payment was declined" in html
    assert "Try another card" in html
    r = c.post(f"/orders/{order.number}/pay/", {"payment_method": "pm_card_visa"}, follow=True)
    assert "your order is confirmed" in r.content.decode()


def test_saved_card_is_offered_at_checkout_and_stays_chosen(shop, customer):
    from payments.services import payment_method_attach

    payment_method_attach(user_id=str(customer.public_id), token="pm_card_visa")
    payment_method_attach(user_id=str(customer.public_id), token="pm_card_mastercard")  # newest: offered first
    c = _signed_in_with(customer, "MUG")
    page = c.get("/checkout/").content.decode()
    assert 'value="pm_card_mastercard" checked' in page
    assert '<span class="card-brand">Mastercard</span> ···· 4444' in page
    assert "Use a new card" in page

    page = c.post("/checkout/", {**ADDRESS, "payment_method": "pm_card_visa", "intent": "update"}).content.decode()
    assert 'value="pm_card_visa" checked' in page and 'value="pm_card_mastercard">' in page


def test_shipped_order_offers_a_return_not_a_cancel(shop, customer):
    c = _signed_in_with(customer, "MUG")
    _place(c, "1749")
    order = Order.objects.get()
    shipment_dispatched_publish(order, "SH-X", user_id=str(customer.public_id), tracking_number="TRK")
    html = c.get(f"/orders/{order.number}/").content.decode()
    assert "Status: <strong>Shipped</strong>" in html
    assert f'href="/returns/new/{order.number}/"' in html
    assert "Cancel order" not in html


def test_member_perks_are_shown_at_checkout(shop, customer):
    from tests.subscriptions.factories import SubscriptionFactory

    SubscriptionFactory(user=customer)  # Plus: 10% off, free shipping
    c = _signed_in_with(customer, "TEE-M")
    page = c.get("/checkout/").content.decode()
    assert "Plus member: 10% off your items and free shipping." in page
    assert "Plus member discount (10%)" in page
    assert "<dt>Delivery: Standard</dt><dd>Free</dd>" in page
    assert "Total to pay: <strong>$18.00</strong>" in page
    _place(c, "1800")
    assert Order.objects.get().total_minor == 1800


def test_saved_address_is_preselected_and_the_order_can_be_amended_in_the_storefront(shop, customer, available):
    from tests.users.factories import AddressFactory

    AddressFactory(user=customer, name="Casey Home", line1="7 Home Row", city="Hometown", postal_code="11111")
    c = Client()
    c.force_login(customer)
    c.post("/basket/add/", {"sku": "TEE-M", "quantity": 3})
    page = c.get("/checkout/").content.decode()
    saved = customer.addresses.get()
    assert f'<option value="{saved.public_id}" selected>Casey Home, 7 Home Row, Hometown 11111, US</option>' in page
    c.post(
        "/checkout/",
        {
            "saved_address": str(saved.public_id),
            "shipping_method": "standard",
            "payment_method": "pm_card_visa",
            "expected_total_minor": "6000",
        },
    )
    order = Order.objects.get()
    assert order.shipping_address["line1"] == "7 Home Row"

    form = {f"address_{k}": v for k, v in order.shipping_address.items()}
    form.update({"qty_TEE-M": "1", "address_line1": "8 New Street"})
    r = c.post(f"/orders/{order.number}/amend/", form, follow=True)

    assert "Your order was updated." in r.content.decode()
    order.refresh_from_db()
    assert (order.lines.get().quantity, order.shipping_address["line1"], order.total_minor) == (
        1,
        "8 New Street",
        2499,
    )  # shipping re-quoted: $4.99 below $50
    assert available("TEE-M") == 4


def test_header_shows_how_many_items_are_in_the_basket(shop):
    c = Client()
    assert 'class="badge"' not in c.get("/basket/").content.decode()
    c.post("/basket/add/", {"sku": "MUG", "quantity": 3})
    assert '<span class="badge" aria-label="3 items">3</span>' in c.get("/basket/").content.decode()


def test_order_times_are_shown_in_the_customers_time_zone(shop, customer):
    import time_machine

    customer.time_zone = "Asia/Tokyo"
    customer.save()
    c = Client()
    c.force_login(customer)
    c.post("/basket/add/", {"sku": "MUG", "quantity": 4})
    with time_machine.travel("2026-11-21 23:30:00+00:00", tick=False):
        _place(c, "5000")
    assert "22 Nov 2026, 08:30" in c.get("/orders/").content.decode()
