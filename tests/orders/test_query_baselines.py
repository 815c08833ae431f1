"""SQL statements per request of the shopping journey, pinned in tests/query_baselines.json (issue 17)."""

from __future__ import annotations

import pytest
from django.test import Client

from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from orders.models import Order
from tests.inventory.factories import VariantFactory

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
    """Basket, then the one-page checkout: its GET, and the POST that places the order."""
    c = Client()
    query_baseline("page basket add (empty basket)", lambda: c.post("/basket/add/", {"sku": "TEE-M", "quantity": 2}))
    query_baseline("page basket", lambda: c.get("/basket/"))
    page = query_baseline("page checkout", lambda: c.get("/checkout/")).content.decode()
    assert 'name="expected_total_minor" value="4499"' in page
    fields = {**ADDRESS, "country": "US", "email": "g@example.com", "shipping_method": "express"}
    r = query_baseline(
        "page place order",
        lambda: c.post("/checkout/", {**fields, "payment_method": "pm_card_visa", "expected_total_minor": "5499"}),
    )
    order = Order.objects.get()
    assert r["Location"] == f"/orders/{order.number}/confirmation/"
    deliver_pending()
    query_baseline("page order confirmation", lambda: c.get(r["Location"]))
    query_baseline("page order detail", lambda: c.get(f"/orders/{order.number}/"))


@pytest.mark.parametrize("lines", [1, 3])
def test_the_checkout_page_costs_the_same_for_any_basket(shop, lines, query_baseline):
    VariantFactory(sku="CAP", price_minor=1500, weight_grams=100)
    inventory_services.stock_receive(sku="CAP", warehouse_code="east", quantity=5, reference="initial")
    c = Client()
    for sku in ["TEE-M", "MUG", "CAP"][:lines]:
        c.post("/basket/add/", {"sku": sku, "quantity": 1})
    country_changed = {**ADDRESS, "country": "GB", "shipping_method": "standard", "intent": "update"}

    query_baseline("page checkout", lambda: c.get("/checkout/"))
    query_baseline("page checkout update (no JavaScript)", lambda: c.post("/checkout/", country_changed))
    query_baseline(
        "page checkout update (script)", lambda: c.post("/checkout/", country_changed, HTTP_X_CHECKOUT_FRAGMENT="1")
    )
