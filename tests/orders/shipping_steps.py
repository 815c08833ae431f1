"""What the shipping side does to an order in the orders tests, as the carrier and the warehouse would: publish a
shipping event about it, dispatch its shipment (the settle task run inline), take a return back."""

from __future__ import annotations

from django.db import transaction

from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from orders import services
from shipping import events as shipping_events
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services
from shipping.models import Shipment


def shipping_event_publish(cls, order, **fields) -> None:
    """Publish one shipping event about ``order`` (a guest's, unless ``fields`` say otherwise) and deliver it."""
    common = {"order_number": order.number, "user_id": None, "customer_email": order.email}
    with transaction.atomic():
        publish(cls(correlation_id=order.number, **{**common, **fields}))
    deliver_pending()


def shipment_dispatched_publish(order, shipment_number: str = "SH-1", **fields) -> None:
    """The carrier picked ``shipment_number`` up from the east warehouse."""
    shipping_event_publish(
        shipping_events.ShipmentDispatched,
        order,
        **{
            "shipment_number": shipment_number,
            "kind": "order",
            "warehouse_code": "east",
            "carrier": "sandbox",
            "tracking_number": "TRK1",
            "tracking_url": "",
            "lines": [],
            "dispatched_at": "2026-11-21T10:00:00+00:00",
            **fields,
        },
    )


def order_dispatched(order, shipment_number: str = "SH-1") -> None:
    """``ShipmentDispatched``, then what order_settle_task does on the worker (capture, commit the stock)."""
    shipment_dispatched_publish(order, shipment_number)
    services.order_settle(order=order)


def order_ship(order) -> str:
    """Label the order's one shipment and dispatch it; its number."""
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    deliver_pending()
    order_dispatched(order, shipment.number)
    return shipment.number


def return_received(order, customer, shipment_number: str, *, quantity: int = 1, reason: str, **receive):
    """The shipment delivered; the customer returns ``quantity`` tees, approved and received at the warehouse
    (``ReturnReceived`` committed, its handler not run yet). The return request."""
    Shipment.objects.filter(number=shipment_number).update(status="delivered", delivered_at=order.placed_at)
    rma = shipping_services.return_request(
        order_number=order.number,
        user_id=str(customer.public_id),
        lines=[{"sku": "TEE-M", "quantity": quantity}],
        reason=reason,
    )
    shipping_services.return_approve(rma_number=rma.rma_number)
    shipping_services.return_receive(rma_number=rma.rma_number, **receive)
    return rma
