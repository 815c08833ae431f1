"""Fixtures for the orders tests: a small catalog with stock, shipping rates, and a checkout body."""

from __future__ import annotations

import pytest

from inventory import services as inventory_services
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
def available():
    from inventory.selectors import available_quantity

    return lambda sku: available_quantity(sku=sku)
