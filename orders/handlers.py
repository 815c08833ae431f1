"""Reactions of the orders app to other apps' events (autodiscovered).

Handlers only touch the database (they run in a transaction with their inbox
row); calls to payments / inventory / shipping go to Celery tasks after commit.
"""

from __future__ import annotations

from django.db import transaction

from flowmart.events.registry import subscribe
from inventory.events import InventoryReleased
from orders import selectors, services
from payments.events import PaymentRefunded, RefundRejected
from shipping.events import (
    DeliveryFailed,
    ReturnReceived,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentRejected,
)


def _after_commit(task, *args) -> None:
    transaction.on_commit(lambda: task.delay(*args), robust=True)


@subscribe(ShipmentCreated)
def mark_fulfilling(event: ShipmentCreated) -> None:
    if event.kind == "order":
        services.order_mark_fulfilling(order_number=event.order_number)


@subscribe(ShipmentDispatched)
def capture_on_dispatch(event: ShipmentDispatched) -> None:
    from orders.tasks import order_settle_task

    if event.kind == "exchange":
        from orders.tasks import exchange_dispatched_task

        _after_commit(exchange_dispatched_task, event.order_number, event.shipment_number)
        return
    if event.kind != "order":
        return
    order = services.order_mark_shipped(order_number=event.order_number, shipment_number=event.shipment_number)
    if order is not None and not order.stock_committed:
        _after_commit(order_settle_task, order.pk)


@subscribe(ShipmentDelivered)
def complete_on_delivery(event: ShipmentDelivered) -> None:
    if event.kind == "order":
        services.order_mark_delivered(order_number=event.order_number, all_delivered=event.all_delivered)


@subscribe(ShipmentRejected)
def compensate_on_rejection(event: ShipmentRejected) -> None:
    from orders.tasks import order_compensate_task

    order = services.order_shipment_rejected(order_number=event.order_number, reason=event.reason or event.code)
    if order is not None:
        _after_commit(order_compensate_task, order.pk)


@subscribe(ReturnReceived)
def settle_return(event: ReturnReceived) -> None:
    from orders.tasks import order_return_settle_task

    order = selectors.order_get(number=event.order_number)
    if order is not None:
        _after_commit(
            order_return_settle_task,
            order.pk,
            event.rma_number,
            event.decision,
            event.refund_minor,
            event.lines,
            event.warehouse_code,
        )


@subscribe(InventoryReleased)
def reserve_again_when_reservation_expired(event: InventoryReleased) -> None:
    from orders.tasks import order_stock_reserve_again_task

    if not event.expired:
        return
    order = services.order_reservation_lost(reference=event.reference)
    if order is not None:
        _after_commit(order_stock_reserve_again_task, order.pk)


@subscribe(DeliveryFailed)
def refund_parcel_returned_to_sender(event: DeliveryFailed) -> None:
    from orders.tasks import order_returned_to_sender_task

    if not event.returned_to_sender:
        return  # the carrier tries again; the timeline shows the attempt
    order = selectors.order_get(number=event.order_number)
    if order is not None:
        _after_commit(order_returned_to_sender_task, order.pk, event.shipment_number, event.reason)


@subscribe(PaymentRefunded)
def book_refund(event: PaymentRefunded) -> None:
    """A refund orders asked for went through (at once, or after Finance approved it): book it once."""
    if event.reference.startswith("order:"):
        services.order_refund_succeeded(refund_id=event.refund_id, amount_minor=event.amount_minor)


@subscribe(RefundRejected)
def flag_rejected_refund(event: RefundRejected) -> None:
    """Finance rejected a refund orders asked for: the order goes to the staff's attention list."""
    if event.reference.startswith("order:"):
        services.order_refund_rejected(refund_id=event.refund_id, note=event.note)
