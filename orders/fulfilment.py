"""Fulfilment, following shipping's events: labelled, shipped (then capture and stock commit), delivered,
refused by shipping, and a reservation that expired under a confirmed order."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowmart.errors import FlowMartError
from flowmart.events.publisher import publish
from flowmart.locks import ORDER_NAMESPACE, advisory_xact_lock
from flowmart.notes import note_add
from flowmart.transitions import transition_apply
from inventory import services as inventory_services
from orders import changes, saga, selectors
from orders.authorization_expiry import AUTHORIZATION_EXPIRED
from orders.errors import OrderActionNotAllowed
from orders.events import OrderCompleted, OrderShipped
from orders.models import Order, OrderNote, OrderPayment, OrderStatus, SagaStatus
from payments import selectors as payment_selectors
from payments import services as payment_services
from shipping import services as shipping_services

log = structlog.get_logger(__name__)


def _order_locked_by_number(number: str) -> Order | None:
    return Order.objects.select_for_update().filter(number=number).first()


def order_reservation_lost(*, reference: str) -> Order | None:
    """Inventory expired an order's reservation (caller's transaction). Returns the order if it needs stock again."""
    order = _order_locked_by_number(reference)
    if order is None or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING) or order.stock_committed:
        return None
    order.stock_reserved = False
    order.save(update_fields=["stock_reserved", "updated_at"])
    return order


def order_mark_fulfilling(*, order_number: str) -> Order | None:
    """A shipment exists (label issued). Runs inside the caller's transaction."""
    order = _order_locked_by_number(order_number)
    if order is not None and order.status == OrderStatus.CONFIRMED:
        transition_apply(order, "start_fulfilment", reason="shipment created")
    return order


def order_mark_shipped(*, order_number: str, shipment_number: str = "") -> Order | None:
    """The first parcel left: ``shipped``. Capture and stock commit follow in ``order_settle`` (outside calls).

    Nothing leaves unpaid: a parcel that left while the order was on hold (the carrier had it before its label
    could be voided) ships the order all the same, settled like any other, and flags it for staff. Waits for an
    amendment, hold or cancel in progress (the order's lock), so none of them interleaves with a dispatch.
    Runs inside the caller's transaction; returns the order when settling is needed.
    """
    advisory_xact_lock(ORDER_NAMESPACE, order_number)
    order = _order_locked_by_number(order_number)
    if order is None:
        return None
    parcel = f"shipment {shipment_number}".strip()
    if order.status == OrderStatus.ON_HOLD:
        order.failure_code = "parcel_left"
        order.failure_detail = (
            f"{parcel} was picked up while the order was on hold ({order.hold_reason}): "
            "the order follows the parcel (captured, stock committed); check with the customer."
        )[:500]
        transition_apply(order, "ship", actor="carrier", reason=f"{parcel} dispatched while on hold")
    if order.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        transition_apply(order, "ship", reason=f"shipment {shipment_number} dispatched".replace("  ", " "))
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        return order
    if order.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
        # Cancelled before the parcel could be stopped (a path that does not stop parcels first): staff act.
        Order.objects.filter(pk=order.pk).update(
            failure_code="parcel_left",
            failure_detail=f"{parcel} was picked up after the order was {order.status}: recover or bill it."[:500],
        )
    return None


def order_mark_delivered(*, order_number: str, all_delivered: bool) -> Order | None:
    """Delivered when every shipment is: ``delivered`` then ``completed``. Caller's transaction."""
    order = _order_locked_by_number(order_number)
    if order is None or not all_delivered or order.status != OrderStatus.SHIPPED:
        return order
    transition_apply(order, "deliver", reason="every shipment delivered")
    transition_apply(order, "complete", reason="delivered")
    publish(
        OrderCompleted(
            correlation_id=order.number,
            order_number=order.number,
            user_id=saga.user_id_of(order),
            customer_email=order.email,
        )
    )
    return order


def order_delivery_problem_record(*, order_number: str, shipment_number: str, text: str) -> Order | None:
    """A parcel of the order failed a delivery attempt: staff see it in *orders needing attention*
    (caller's transaction)."""
    order = _order_locked_by_number(order_number)
    if order is not None:
        order.delivery_problems = {**order.delivery_problems, shipment_number: text[:500]}
        order.save(update_fields=["delivery_problems", "updated_at"])
    return order


def order_delivery_problem_clear(*, order_number: str, shipment_number: str) -> Order | None:
    """The parcel was delivered, or is back with us (returned to sender has its own path): off the list."""
    order = _order_locked_by_number(order_number)
    if order is not None and shipment_number in order.delivery_problems:
        order.delivery_problems = {k: v for k, v in order.delivery_problems.items() if k != shipment_number}
        order.save(update_fields=["delivery_problems", "updated_at"])
    return order


def order_delivery_choose(*, order: Order, shipment_number: str, choice: str) -> None:
    """The customer (already known to own ``order``) chooses re-delivery or pick-up for a parcel after a failed
    attempt; shipping passes it to the carrier (``shipping.services.shipment_delivery_choose``)."""
    shipping_services.shipment_delivery_choose(
        order_number=order.number, shipment_number=shipment_number, choice=choice
    )


def order_shipment_rejected(*, order_number: str, reason: str) -> Order | None:
    """Shipping cannot ship: mark the saga for compensation (caller's transaction); the task runs it."""
    order = _order_locked_by_number(order_number)
    if order is None or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD):
        return None
    if order.saga_status in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED):
        return None
    order.saga_status = SagaStatus.COMPENSATING
    order.compensation_target = OrderStatus.CANCELLED
    order.compensation_reason = f"shipping refused: {reason}"[:255]
    order.compensation_by = "system"
    order.failure_code = "shipment_rejected"
    order.saga_lease_until = saga.lease_until()  # the task runs it; if it is lost, the sweeper after the lease
    order.save()
    return order


# -- authorizations that would lapse before dispatch ------------------------------------------------
def orders_authorizations_renew(*, batch_size: int = 100) -> int:
    """Beat: renew the authorizations of undispatched orders that the gateway would otherwise drop before the
    parcel leaves (older than ``PAYMENTS_AUTHORIZATION_VALID_DAYS`` less ``ORDERS_AUTHORIZATION_RENEW_HOURS_BEFORE``).
    Returns how many orders were looked at."""
    due = selectors.orders_with_authorizations_expiring(authorized_before=_renew_cutoff())
    numbers = list(due.values_list("pk", flat=True)[:batch_size])
    for pk in numbers:
        try:
            order_authorization_renew(order=Order.objects.get(pk=pk))
        except FlowMartError as exc:  # the gateway is down: the next run tries again
            log.warning("authorization not renewed yet", order_id=pk, code=exc.code)
    return len(numbers)


def _renew_cutoff():
    return timezone.now() - (
        timedelta(days=settings.PAYMENTS_AUTHORIZATION_VALID_DAYS)
        - timedelta(hours=settings.ORDERS_AUTHORIZATION_RENEW_HOURS_BEFORE)
    )


def order_authorization_renew(*, order: Order) -> Order:
    """Re-authorize (payments: a new authorization under ``<number>:reauthorize:<old payment id>``, the old one
    voided) every authorization of an undispatched order that is about to lapse, under the order's lock (no
    amendment, hold, cancel, label or dispatch meanwhile). If the card refuses, the order is flagged
    (``reauthorization_failed``) and put on hold, so no label is bought and nothing leaves unpaid."""
    with changes.order_lock(order):
        order = Order.objects.get(pk=order.pk)
        if order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD):
            return order
        cutoff = _renew_cutoff()
        for payment in order.payments.filter(voided=False, captured_minor=0, created_at__lte=cutoff).order_by("id"):
            try:
                with saga.step(order, "reauthorize_payment"):
                    renewed = payment_services.payment_reauthorize(
                        payment_id=payment.payment_id,
                        idempotency_key=f"{order.number}:reauthorize:{payment.payment_id}",
                    )
            except FlowMartError as exc:
                if exc.status >= 500:
                    raise
                return _authorization_renewal_failed(order, exc)
            with transaction.atomic():
                saga.lock(order)
                OrderPayment.objects.filter(pk=payment.pk).update(voided=True)
                OrderPayment.objects.get_or_create(
                    payment_id=renewed.id,
                    defaults={"order": order, "amount_minor": renewed.amount_minor, "purpose": "reauthorization"},
                )
    return Order.objects.get(pk=order.pk)


def _authorization_renewal_failed(order: Order, exc: FlowMartError) -> Order:
    detail = f"the payment authorization expires before dispatch and could not be renewed: {exc.code}: {exc.detail}"
    Order.objects.filter(pk=order.pk).update(failure_code="reauthorization_failed", failure_detail=detail[:500])
    log.warning("authorization renewal refused", order=order.number, code=exc.code)
    if order.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        with contextlib.suppress(FlowMartError):  # its parcel left meanwhile: the order follows it (flagged)
            changes.order_hold(order=order, actor="system", reason="payment authorization could not be renewed")
    return Order.objects.get(pk=order.pk)


# The flags staff clear by hand once they dealt with them (orders needing attention), and the note each leaves.
# A rejected or failed refund's flag is Finance's (``order_refund_issue_resolve``): it is about money sent back.
STAFF_CLEARED_FLAGS = {
    AUTHORIZATION_EXPIRED: OrderNote.Kind.AUTHORIZATION_ISSUE_RESOLVED,
    "parcel_left": OrderNote.Kind.PARCEL_ISSUE_RESOLVED,
    "reauthorization_failed": OrderNote.Kind.PARCEL_ISSUE_RESOLVED,
}


def order_flag_clear(*, order: Order, by=None, reason: str = "") -> Order:
    """Staff dealt with what flagged the order (an authorization the gateway dropped before capture, a parcel
    that left while the order was held or cancelled, an authorization that could not be renewed): the order
    leaves the attention list, with a note of who and why (a renewal is tried again at the next sweep)."""
    with transaction.atomic():
        order = saga.lock(order)
        kind = STAFF_CLEARED_FLAGS.get(order.failure_code)
        if kind is None:
            raise OrderActionNotAllowed("This order has no parcel or payment issue waiting for staff.")
        detail = order.failure_detail
        order.failure_code = ""
        order.failure_detail = ""
        order.save(update_fields=["failure_code", "failure_detail", "updated_at"])
        note_add(order, kind=kind, actor="staff", by=by, text=f"{detail} — {reason or 'resolved by staff'}")
    return order


# -- settle: capture and stock commit after dispatch ---------------------------------------------
def order_settle(*, order: Order) -> Order:
    """After dispatch: capture the order's total (no more) and turn the reservation into a sale. Idempotent.

    A refusal (4xx: e.g. the reservation is gone) parks the order with ``failure_code="settle_failed"``
    for staff (orders needing attention); a transient error raises so the task retries.
    """
    try:
        _payments_capture(Order.objects.get(pk=order.pk))
        _stock_commit(Order.objects.get(pk=order.pk))
    except FlowMartError as exc:
        if exc.status >= 500:
            raise
        Order.objects.filter(pk=order.pk).update(
            failure_code="settle_failed", failure_detail=f"{exc.code}: {exc.detail}"[:500]
        )
        log.error("order could not be settled after dispatch", order=order.number, code=exc.code)
    return Order.objects.get(pk=order.pk)


def order_settle_retry(*, order: Order) -> Order:
    """Staff fixed what blocked settling (e.g. stock): try capture + stock commit again."""
    Order.objects.filter(pk=order.pk, failure_code="settle_failed").update(failure_code="", failure_detail="")
    return order_settle(order=order)


def _payments_capture(order: Order) -> None:
    """Capture up to the order's total across its authorizations, then void the ones not needed (amended down)."""
    remaining = order.total_minor - order.captured_minor
    for payment in order.payments.filter(voided=False).order_by("created_at", "id"):  # oldest authorization first
        if remaining <= 0:
            break
        # Our record may lag the gateway after a crash: read the payment first.
        info = payment_selectors.payment_get(payment_id=payment.payment_id)
        already = (info.captured_minor if info else 0) - payment.captured_minor
        if already > 0:
            _capture_book(order, payment, amount_minor=already)
            remaining -= already
            continue
        take = min(remaining, payment.amount_minor - payment.captured_minor)
        if take <= 0:
            continue
        with saga.step(order, "capture_payment") as attempt:
            payment_services.payment_capture(payment_id=payment.payment_id, amount_minor=take)
            _capture_book(order, payment, amount_minor=take, attempt=attempt)
        remaining -= take
    for payment in Order.objects.get(pk=order.pk).payments.filter(voided=False, captured_minor=0):
        saga.payment_void(order=order, payment=payment, reason="not needed after amendment")


def _capture_book(order: Order, payment: OrderPayment, *, amount_minor: int, attempt=None) -> None:
    with transaction.atomic():
        OrderPayment.objects.filter(pk=payment.pk).update(captured_minor=payment.captured_minor + amount_minor)
        locked = saga.lock(order)
        locked.captured_minor += amount_minor
        locked.save(update_fields=["captured_minor", "updated_at"])
        if attempt is not None:
            attempt.succeed()


def _stock_commit(order: Order) -> None:
    if order.stock_committed:
        return
    with saga.step(order, "commit_stock") as attempt:
        inventory_services.stock_commit(reference=order.stock_reference)
        with transaction.atomic():
            locked = saga.lock(order)
            locked.stock_committed = True
            locked.save(update_fields=["stock_committed", "updated_at"])
            attempt.succeed()
            publish(
                OrderShipped(
                    correlation_id=order.number,
                    order_number=order.number,
                    user_id=saga.user_id_of(order),
                    customer_email=order.email,
                    captured_minor=locked.captured_minor,
                    currency=order.currency,
                )
            )
