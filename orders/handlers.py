"""Reactions of the orders app to other apps' events (autodiscovered).

Handlers only touch the database (they run in a transaction with their inbox
row). Work that calls payments / inventory / shipping is a command
(``flowmart.events.commands.command_queue``): a row written in the same
transaction as the inbox row, its task sent after commit and sent again by the
redelivery sweep until it ran, so a broker outage at that moment loses nothing
(docs/architecture.md §Tasks).
"""

from __future__ import annotations

from flowmart.events.commands import command_queue
from flowmart.events.registry import subscribe
from inventory.events import InventoryReleased
from orders import selectors, services
from payments.events import (
    ChargebackOpened,
    ChargebackResolved,
    PaymentAuthorizationExpired,
    PaymentRefunded,
    RefundRejected,
)
from shipping import selectors as shipping_selectors
from shipping.events import (
    DeliveryFailed,
    DeliveryInstructionRefused,
    ReturnReceived,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentRejected,
)


@subscribe(ShipmentCreated)
def mark_fulfilling(event: ShipmentCreated) -> None:
    if event.kind == "order":
        services.order_mark_fulfilling(order_number=event.order_number)


@subscribe(ShipmentDispatched)
def capture_on_dispatch(event: ShipmentDispatched) -> None:
    if event.kind == "exchange":
        command_queue(
            "orders.tasks.exchange_dispatched_task",
            order_number=event.order_number,
            shipment_number=event.shipment_number,
        )
        return
    if event.kind != "order":
        return
    order = services.order_mark_shipped(order_number=event.order_number, shipment_number=event.shipment_number)
    if order is not None and not order.stock_committed:
        command_queue(
            "orders.tasks.order_settle_task",
            order_id=order.pk,
        )


@subscribe(ShipmentDelivered)
def complete_on_delivery(event: ShipmentDelivered) -> None:
    if event.kind == "order":
        services.order_mark_delivered(order_number=event.order_number, all_delivered=event.all_delivered)


@subscribe(ShipmentRejected)
def compensate_on_rejection(event: ShipmentRejected) -> None:
    order = services.order_shipment_rejected(order_number=event.order_number, reason=event.reason or event.code)
    if order is not None:
        command_queue(
            "orders.tasks.order_compensate_task",
            order_id=order.pk,
        )


@subscribe(ReturnReceived)
def settle_return(event: ReturnReceived) -> None:
    order = selectors.order_get(number=event.order_number)
    if order is not None:
        command_queue(
            "orders.tasks.order_return_settle_task",
            order_id=order.pk,
            rma_number=event.rma_number,
            decision=event.decision,
            refund_minor=event.refund_minor,
            lines=event.lines,
            warehouse_code=event.warehouse_code,
            exchange_charge_minor=event.exchange_charge_minor,
        )


@subscribe(InventoryReleased)
def reserve_again_when_reservation_expired(event: InventoryReleased) -> None:
    if not event.expired:
        return
    order = services.order_reservation_lost(reference=event.reference)
    if order is not None:
        command_queue("orders.tasks.order_stock_reserve_again_task", order_id=order.pk)


@subscribe(ShipmentDelivered)
def clear_delivery_problem_on_delivery(event: ShipmentDelivered) -> None:
    services.order_delivery_problem_clear(order_number=event.order_number, shipment_number=event.shipment_number)


@subscribe(DeliveryFailed)
def flag_failed_delivery(event: DeliveryFailed) -> None:
    """A failed attempt puts the order on the staff's attention list until the parcel is delivered; a parcel
    returned to sender comes off it (``order_returned_to_sender`` decides what staff must still do)."""
    if event.returned_to_sender:
        services.order_delivery_problem_clear(order_number=event.order_number, shipment_number=event.shipment_number)
        return
    _flag_delivery_problem(event.order_number, event.shipment_number)


@subscribe(DeliveryInstructionRefused)
def flag_refused_return(event: DeliveryInstructionRefused) -> None:
    """The carrier would not take the parcel back: staff arrange it (Shipments → "Return arranged with the
    carrier"); the order is refunded only then."""
    _flag_delivery_problem(event.order_number, event.shipment_number)


def _flag_delivery_problem(order_number: str, shipment_number: str) -> None:
    # The parcel's state now, not the event's: two events of one parcel may be handled in either order.
    text = shipping_selectors.delivery_problem(shipment_number=shipment_number)
    if text:
        services.order_delivery_problem_record(order_number=order_number, shipment_number=shipment_number, text=text)
    else:
        services.order_delivery_problem_clear(order_number=order_number, shipment_number=shipment_number)


@subscribe(DeliveryFailed)
def refund_parcel_returned_to_sender(event: DeliveryFailed) -> None:
    if not event.returned_to_sender:
        return  # the carrier tries again (flag_failed_delivery told staff)
    order = selectors.order_get(number=event.order_number)
    if order is not None:
        command_queue(
            "orders.tasks.order_returned_to_sender_task",
            order_id=order.pk,
            shipment_number=event.shipment_number,
            reason=event.reason,
        )


@subscribe(PaymentRefunded)
def book_refund(event: PaymentRefunded) -> None:
    """A refund orders asked for went through (at once, or after Finance approved it): book it once. One made
    in the gateway's dashboard (origin "gateway") is booked as the order's own refund row."""
    if not event.reference.startswith("order:"):
        return
    if event.origin == "gateway":
        services.order_refund_made_at_gateway(
            refund_id=event.refund_id, payment_id=event.payment_id, amount_minor=event.amount_minor
        )
    else:
        services.order_refund_succeeded(refund_id=event.refund_id, amount_minor=event.amount_minor)


@subscribe(RefundRejected)
def flag_rejected_refund(event: RefundRejected) -> None:
    """Finance rejected a refund orders asked for: the order goes to the staff's attention list."""
    if event.reference.startswith("order:"):
        services.order_refund_rejected(refund_id=event.refund_id, note=event.note)


@subscribe(ChargebackOpened)
def mark_disputed(event: ChargebackOpened) -> None:
    """The cardholder's bank disputes a payment of the order: the order is marked and on staff's list."""
    services.order_dispute_opened(
        reference=event.reference,
        payment_id=event.payment_id,
        dispute_id=event.dispute_id,
        amount_minor=event.amount_minor,
        fee_minor=event.fee_minor,
        reason=event.reason,
    )


@subscribe(ChargebackResolved)
def book_dispute_outcome(event: ChargebackResolved) -> None:
    """The bank decided: a lost dispute's amount and fee go into the order's books."""
    services.order_dispute_resolved(
        dispute_id=event.dispute_id, outcome=event.outcome, loss_minor=event.loss_minor, fee_minor=event.fee_minor
    )


@subscribe(PaymentAuthorizationExpired)
def flag_expired_authorization(event: PaymentAuthorizationExpired) -> None:
    """The gateway dropped an authorization before capture: staff must act before the parcel leaves."""
    if event.reference.startswith("order:"):
        services.order_authorization_expired(payment_id=event.payment_id, amount_minor=event.amount_minor)
