"""Cancelling from the order page: a reason that is too long is an error, not a silent cancel."""

from __future__ import annotations

import pytest

from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(customer, customer_client, shop, checkout_body):
    assert (
        customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json").status_code == 201
    )
    response = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    return Order.objects.get(number=response.json()["number"])


def test_too_long_reason_keeps_the_order_and_says_why(client, customer, order):
    client.force_login(customer)
    response = client.post(f"/orders/{order.number}/cancel/", {"reason": "x" * 300}, follow=True)
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert "Your order was not cancelled" in response.content.decode()
    assert "at most 255 characters" in response.content.decode()


def test_cancel_with_a_reason_records_it(client, customer, order):
    client.force_login(customer)
    client.post(f"/orders/{order.number}/cancel/", {"reason": "Ordered the wrong size"})
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.transitions.filter(to_state="cancelled").get().reason == "Ordered the wrong size"
