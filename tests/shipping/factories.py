"""Factories for shipping tests, and builders of ``OrderConfirmed`` and ``OrderAmended`` events as orders publishes
them."""

from __future__ import annotations

import factory

from orders.events import OrderAmended, OrderConfirmed
from shipping.models import Shipment, ShipmentLine

ADDRESS = {
    "name": "Casey Customer",
    "line1": "12 Main Street",
    "line2": "",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
    "phone": "+15551234567",
}


def order_line(sku="TEE-M-BLUE", *, quantity=1, unit_price_minor=2500, weight_grams=200, allocations=None, name=None):
    return {
        "sku": sku,
        "name": name or f"Product {sku}",
        "quantity": quantity,
        "unit_price_minor": unit_price_minor,
        "line_total_minor": unit_price_minor * quantity,
        "weight_grams": weight_grams,
        "allocations": allocations if allocations is not None else [{"warehouse_code": "east", "quantity": quantity}],
    }


def order_confirmed(
    order_number="FM-TEST0001", *, user=None, lines=None, address=None, shipping_method="standard"
) -> OrderConfirmed:
    lines = lines if lines is not None else [order_line()]
    subtotal = sum(line["line_total_minor"] for line in lines)
    return OrderConfirmed(
        correlation_id=order_number,
        order_number=order_number,
        user_id=str(user.public_id) if user else None,
        customer_email=user.email if user else "guest@example.com",
        customer_name=(user.full_name if user else "Guest"),
        currency="USD",
        subtotal_minor=subtotal,
        shipping_minor=499,
        discount_minor=0,
        total_minor=subtotal + 499,
        shipping_method=shipping_method,
        shipping_address={**ADDRESS, **(address or {})},
        lines=lines,
        placed_at="2026-11-21T10:00:00+00:00",
    )


def order_amended(
    order_number="FM-TEST0001", *, user=None, lines, total_minor: int, changes: list[str], address=None
) -> OrderAmended:
    return OrderAmended(
        correlation_id=order_number,
        order_number=order_number,
        user_id=str(user.public_id) if user else None,
        customer_email=user.email if user else "guest@example.com",
        currency="USD",
        total_minor=total_minor,
        shipping_address={**ADDRESS, **(address or {})},
        lines=lines,
        changes=changes,
    )


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order_number = factory.Sequence(lambda n: f"FM-FACT{n:04d}")
    user_id = None
    customer_email = "casey@example.com"
    customer_name = "Casey Customer"
    warehouse_code = "east"
    address = factory.LazyFunction(lambda: dict(ADDRESS))


class ShipmentLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShipmentLine

    shipment = factory.SubFactory(ShipmentFactory)
    sku = "TEE-M-BLUE"
    name = "Tee M Blue"
    quantity = 1
    unit_price_minor = 2500
    weight_grams = 200
