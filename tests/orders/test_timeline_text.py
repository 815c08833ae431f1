"""The customer's order page tells the story in words, not event names."""

from __future__ import annotations

import pytest

from flowmart.events.testing import deliver_pending
from orders.models import Order
from orders.timeline_text import describe

pytestmark = pytest.mark.django_db


def test_order_page_timeline_reads_as_sentences(client, customer, customer_client, shop, checkout_body):
    assert (
        customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json").status_code == 201
    )
    number = customer_client.post("/api/v1/checkout/", checkout_body(), format="json").json()["number"]
    deliver_pending()
    order = Order.objects.get(number=number)

    client.force_login(customer)
    html = client.get(f"/orders/{number}/").content.decode()
    timeline = html[html.index("<h2>Timeline</h2>") :]

    assert "Checkout started" in timeline
    assert f"Order placed: ${order.total_minor / 100:.2f}" in timeline
    assert "Items set aside for you" in timeline
    assert f"Payment of ${order.total_minor / 100:.2f} approved on Visa ending 4242" in timeline
    assert "Order confirmed" in timeline
    # Plumbing stays out of the customer's view.
    assert "UserCheckedOut" not in timeline
    assert "NotificationSent" not in timeline
    assert "PaymentInitiated" not in timeline


def test_a_decline_is_explained():
    text = describe(
        name="PaymentProcessed",
        payload={"status": "failed", "decline_code": "insufficient_funds", "brand": "visa", "last4": "9995"},
    )
    assert text == "Payment declined on Visa ending 9995: insufficient funds"


def test_unknown_events_are_not_shown_to_customers():
    assert describe(name="NotificationSent", payload={}) is None
