"""Reactions of the shipping app to other apps' events (autodiscovered).

Handlers only touch the database; carrier calls are queued after commit by the services.
"""

from __future__ import annotations

from flowmart.events.registry import subscribe
from orders.events import OrderAmended, OrderCancelled, OrderConfirmed
from shipping import services


@subscribe(OrderConfirmed)
def create_shipments(event: OrderConfirmed) -> None:
    services.shipments_create_for_order(
        order_number=event.order_number,
        user_id=event.user_id,
        customer_email=event.customer_email,
        customer_name=event.customer_name,
        currency=event.currency,
        method_code=event.shipping_method,
        address=event.shipping_address,
        lines=event.lines,
        shipping_minor=event.shipping_minor,
        causation_id=event.event_id,
    )


@subscribe(OrderCancelled)
def cancel_shipments(event: OrderCancelled) -> None:
    services.shipments_cancel_for_order(
        order_number=event.order_number, reason=event.reason, causation_id=event.event_id
    )


@subscribe(OrderAmended)
def amend_shipments(event: OrderAmended) -> None:
    services.shipments_amend_for_order(
        order_number=event.order_number,
        address=event.shipping_address,
        lines=event.lines,
        causation_id=event.event_id,
    )
