"""Fixtures for the orders tests: a small catalog with stock, shipping rates, and a checkout body."""

from __future__ import annotations

import pytest

from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from orders.models import Order
from shipping.demo import seed_demo_shipping
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory

ADDRESS = {
    "name": "Casey Customer",
    "line1": "1 Main Street",
    "line2": "",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


@pytest.fixture
def shop(db):
    """Two products (TEE-M $20.00 ×5 in east, MUG $12.50 ×3 in east + 2 in west) and US shipping rates."""
    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    WarehouseFactory(code="west", name="West", priority=20)
    tee = VariantFactory(sku="TEE-M", price_minor=2000, weight_grams=200, product=ProductFactory(name="Tee"))
    mug = VariantFactory(sku="MUG", price_minor=1250, weight_grams=300, product=ProductFactory(name="Mug"))
    inventory_services.stock_receive(sku="TEE-M", warehouse_code="east", quantity=5, reference="initial")
    inventory_services.stock_receive(sku="MUG", warehouse_code="east", quantity=3, reference="initial")
    inventory_services.stock_receive(sku="MUG", warehouse_code="west", quantity=2, reference="initial")
    return {"TEE-M": tee, "MUG": mug}


@pytest.fixture
def checkout_body():
    def _body(**overrides):
        body = {"shipping_address": dict(ADDRESS), "shipping_method": "standard", "payment_method": "pm_card_visa"}
        body.update(overrides)
        return body

    return _body


@pytest.fixture
def place(customer_client, shop, checkout_body):
    """Place an order through the API: ``place(("TEE-M", 2), ("MUG", 1), client=..., **checkout body overrides)``
    (the customer's client unless another is given); the shipments exist when it returns."""

    def _place(*lines, client=None, **body):
        client = client or customer_client
        for sku, qty in lines:
            assert client.post("/api/v1/basket/lines/", {"sku": sku, "quantity": qty}, format="json").status_code == 201
        r = client.post("/api/v1/checkout/", checkout_body(**body), format="json")
        assert r.status_code == 201, r.json()
        deliver_pending()  # shipping creates the shipment from OrderConfirmed
        return Order.objects.get(number=r.json()["number"])

    return _place


@pytest.fixture
def available():
    from inventory.selectors import available_quantity

    return lambda sku: available_quantity(sku=sku)
