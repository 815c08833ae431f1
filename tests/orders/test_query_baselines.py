"""SQL statements per request of the shopping journey, pinned in tests/query_baselines.json (issue 17)."""

from __future__ import annotations

import pytest
from django.test import Client

from flowmart.events.testing import deliver_pending
from orders.models import Order

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Robin Guest", "line1": "1 Main Street", "city": "Springfield", "postal_code": "12345"}


def test_api_journey(customer_client, shop, checkout_body, query_baseline):
    query_baseline(
        "api basket add (empty basket)",
        lambda: customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json"),
    )
    query_baseline(
        "api basket add (second line)",
        lambda: customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json"),
    )
    query_baseline("api basket view (2 lines)", lambda: customer_client.get("/api/v1/basket/"))
    r = query_baseline(
        "api checkout place (2 lines, confirmed)",
        lambda: customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="q1"),
    )
    assert r.status_code == 201, r.json()
    deliver_pending()
    number = r.json()["number"]
    query_baseline("api order detail", lambda: customer_client.get(f"/api/v1/orders/{number}/"))


def test_storefront_journey(shop, query_baseline):
    c = Client()
    query_baseline("page basket add (empty basket)", lambda: c.post("/basket/add/", {"sku": "TEE-M", "quantity": 2}))
    query_baseline("page basket", lambda: c.get("/basket/"))
    query_baseline(
        "page checkout address", lambda: c.post("/checkout/", {**ADDRESS, "country": "US", "email": "g@example.com"})
    )
    query_baseline("page checkout shipping", lambda: c.post("/checkout/shipping/", {"shipping_method": "express"}))
    query_baseline("page checkout payment", lambda: c.post("/checkout/payment/", {"payment_method": "pm_card_visa"}))
    query_baseline("page checkout review", lambda: c.get("/checkout/review/"))
    r = query_baseline("page place order", lambda: c.post("/checkout/review/", {"expected_total_minor": "5499"}))
    order = Order.objects.get()
    assert r["Location"] == f"/orders/{order.number}/confirmation/"
    deliver_pending()
    query_baseline("page order confirmation", lambda: c.get(r["Location"]))
    query_baseline("page order detail", lambda: c.get(f"/orders/{order.number}/"))
