"""Sample events as the producing apps publish them (their own dataclasses, realistic payloads)."""

from __future__ import annotations

from flowmart.users.events import UserSignedUp
from orders.events import OrderCancelled, OrderConfirmed, OrderOnHold, OrderPaymentFailed

ORDER = "FM-7Q2K9D4X"


def order_confirmed(user, **overrides) -> OrderConfirmed:
    payload = {
        "correlation_id": ORDER,
        "order_number": ORDER,
        "user_id": str(user.public_id) if user else None,
        "customer_email": user.email if user else "guest@example.com",
        "customer_name": user.full_name if user else "Gus Guest",
        "currency": "USD",
        "subtotal_minor": 7498,
        "shipping_minor": 499,
        "discount_minor": 500,
        "total_minor": 7497,
        "shipping_method": "Standard",
        "shipping_address": {
            "name": "Casey Customer",
            "line1": "1 Main Street",
            "line2": "",
            "city": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "country": "US",
            "phone": "+15555550100",
        },
        "lines": [
            {
                "sku": "TEE-M-BLU",
                "name": "Tee M / Blue",
                "quantity": 2,
                "unit_price_minor": 2999,
                "line_total_minor": 5998,
                "weight_grams": 200,
                "allocations": [{"warehouse_code": "MAIN", "quantity": 2}],
            },
            {
                "sku": "MUG-WHT",
                "name": "Mug White",
                "quantity": 1,
                "unit_price_minor": 1500,
                "line_total_minor": 1500,
                "weight_grams": 350,
                "allocations": [{"warehouse_code": "MAIN", "quantity": 1}],
            },
        ],
        "placed_at": "2026-11-21T10:00:00+00:00",
    }
    payload.update(overrides)
    return OrderConfirmed(**payload)


def payment_failed(user) -> OrderPaymentFailed:
    return OrderPaymentFailed(
        correlation_id=ORDER,
        order_number=ORDER,
        user_id=str(user.public_id),
        customer_email=user.email,
        decline_code="insufficient_funds",
        retry_until="2026-11-22T12:00:00+00:00",
        total_minor=7497,
        currency="USD",
    )


def on_hold(user) -> OrderOnHold:
    return OrderOnHold(
        correlation_id=ORDER,
        order_number=ORDER,
        user_id=str(user.public_id),
        customer_email=user.email,
        reason="An item is out of stock",
        expected_delay_days=3,
    )


def cancelled(user) -> OrderCancelled:
    return OrderCancelled(
        correlation_id=ORDER,
        order_number=ORDER,
        user_id=str(user.public_id),
        customer_email=user.email,
        reason="Cancelled at your request",
        cancelled_by="customer",
        refunded_minor=7497,
        currency="USD",
    )


def signed_up(user) -> UserSignedUp:
    return UserSignedUp(
        correlation_id=f"user:{user.public_id}", user_id=str(user.public_id), email=user.email, full_name=user.full_name
    )
