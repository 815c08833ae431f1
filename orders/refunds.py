"""The order's side of refunds: what orders asked payments to refund, and booking it once the money moved.

``payments.services.payment_refund`` answers ``succeeded`` for a refund at or below
``REFUND_APPROVAL_THRESHOLD_MINOR`` and ``pending_approval`` above it (Finance decides in the admin).
Every answer is an ``OrderRefund`` row; only a succeeded one counts in ``refunded_minor`` (order and
payment). A waiting refund is booked when payments publishes ``PaymentRefunded`` and flagged for staff
(orders needing attention) when it publishes ``RefundRejected`` (handlers → ``orders.services``).

Booking is idempotent: the row is locked (after its order) and booked only while it is not yet succeeded,
so a small refund booked at once and its later ``PaymentRefunded`` (or the same event twice) count once.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from flowmart.errors import FlowMartError
from flowmart.events.publisher import publish
from flowmart.money import Money
from orders.events import OrderRefunded
from orders.models import Order, OrderPayment, OrderRefund
from payments import selectors as payment_selectors
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services

log = structlog.get_logger(__name__)

REFUND_ATTENTION_CODES = ("refund_rejected", "refund_failed")
# A failure that drives behaviour of its own (order_settle_retry): kept, the refund's note is added to it.
_KEEP_FAILURE_CODES = ("settle_failed",)


def refund_waiting_minor(*, payment: OrderPayment) -> int:
    """Asked for on this payment, not refunded yet (payments holds it back from what is refundable)."""
    waiting = payment.refunds.filter(status__in=OrderRefund.WAITING).aggregate(total=Sum("amount_minor"))["total"]
    return waiting or 0


def refund_record(
    *, order: Order, payment: OrderPayment, info, purpose: str, rma_number: str = ""
) -> tuple[OrderRefund, bool]:
    """Record payments' answer (a ``RefundInfo``) to our refund request. Caller's transaction.

    Returns the row and whether money was booked now (``succeeded``: counted at once, as before). A refund
    waiting for Finance is recorded but not counted; a rejected or failed one (an idempotent replay) flags
    the order for staff.
    """
    Order.objects.select_for_update().filter(pk=order.pk).first()
    refund, _ = OrderRefund.objects.get_or_create(
        refund_id=info.id,
        defaults={
            "order": order,
            "payment": payment,
            "amount_minor": info.amount_minor,
            "purpose": purpose,
            "rma_number": rma_number,
            "status": OrderRefund.Status.PROCESSING
            if info.status == "processing"
            else OrderRefund.Status.PENDING_APPROVAL,
        },
    )
    if info.status == "succeeded":
        return refund, _book(refund)
    if info.status in ("rejected", "failed"):
        _flag(refund, status=info.status, note="")
    return refund, False


def _locked(refund_id) -> OrderRefund | None:
    """The row and its order, locked in that order (order first, as every orders command does)."""
    row = OrderRefund.objects.filter(refund_id=refund_id).only("id", "order_id").first()
    if row is None:
        return None
    Order.objects.select_for_update().filter(pk=row.order_id).first()
    return OrderRefund.objects.select_for_update().select_related("order", "payment").get(pk=row.pk)


def _book(refund: OrderRefund) -> bool:
    """Count a refund that went through on its payment and its order, once. Caller's transaction."""
    order = Order.objects.select_for_update().get(pk=refund.order_id)
    refund = OrderRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status == OrderRefund.Status.SUCCEEDED:
        return False
    refund.status = OrderRefund.Status.SUCCEEDED
    refund.settled_at = timezone.now()
    refund.save(update_fields=["status", "settled_at"])
    OrderPayment.objects.filter(pk=refund.payment_id).update(refunded_minor=F("refunded_minor") + refund.amount_minor)
    order.refunded_minor += refund.amount_minor
    order.save(update_fields=["refunded_minor", "updated_at"])
    return True


def _flag(refund: OrderRefund, *, status: str, note: str) -> None:
    """Finance said no (or the gateway refused): nothing is booked; the order waits for staff."""
    order = Order.objects.select_for_update().get(pk=refund.order_id)
    OrderRefund.objects.filter(pk=refund.pk).exclude(status=OrderRefund.Status.SUCCEEDED).update(
        status=status, note=note[:255], settled_at=timezone.now()
    )
    what = f"return {refund.rma_number}" if refund.rma_number else refund.get_purpose_display().lower()
    verdict = "rejected by Finance" if status == OrderRefund.Status.REJECTED else "failed at the payment provider"
    detail = f"refund of {Money(refund.amount_minor, order.currency)} ({what}) {verdict}"
    if note:
        detail += f": {note}"
    if order.failure_code in _KEEP_FAILURE_CODES:
        order.failure_detail = f"{order.failure_detail}; {detail}"[:500]
    else:
        order.failure_code = "refund_rejected" if status == OrderRefund.Status.REJECTED else "refund_failed"
        order.failure_detail = detail[:500]
    order.save(update_fields=["failure_code", "failure_detail", "updated_at"])


def return_refund_complete(*, order: Order, rma_number: str) -> bool:
    """Every refund orders asked for this return went through (none waiting, rejected or failed)."""
    return not order.refunds.filter(rma_number=rma_number).exclude(status=OrderRefund.Status.SUCCEEDED).exists()


def refund_succeeded(*, refund_id, amount_minor: int) -> OrderRefund | None:
    """Payments moved the money (``PaymentRefunded``): book it if it was waiting. Caller's transaction
    (the handler's). Then ``OrderRefunded``, and a return whose refunds all went through is marked refunded
    at shipping. Unknown refunds (not asked for by orders) are ignored."""
    refund = _locked(refund_id)
    if refund is None:
        return None
    if refund.amount_minor != amount_minor:
        log.error("refund amount differs from ours", refund_id=str(refund_id), ours=refund.amount_minor)
    if not _book(refund):
        return refund  # booked already (a small refund, or this event again)
    order = Order.objects.get(pk=refund.order_id)
    publish(
        OrderRefunded(
            correlation_id=order.number,
            order_number=order.number,
            user_id=str(order.user.public_id) if order.user_id else None,
            customer_email=order.email,
            rma_number=refund.rma_number,
            refunded_minor=refund.amount_minor,
            currency=order.currency,
        )
    )
    returned = shipping_selectors.return_get(rma_number=refund.rma_number) if refund.rma_number else None
    # An exchange's price difference refunded: the exchange's own state (exchanged) says enough.
    if (
        refund.purpose == OrderRefund.Purpose.RETURN
        and returned is not None
        and returned.decision == "refund"
        and return_refund_complete(order=order, rma_number=refund.rma_number)
    ):
        try:
            with transaction.atomic():
                shipping_services.return_mark_refunded(rma_number=refund.rma_number)
        except FlowMartError as exc:  # the money is booked either way; staff sort out the return
            log.warning("return not marked refunded", order=order.number, rma=refund.rma_number, code=exc.code)
    return OrderRefund.objects.get(pk=refund.pk)


def refund_made_at_gateway(*, refund_id, payment_id, amount_minor: int) -> OrderRefund | None:
    """Payments booked a refund someone made in the gateway's dashboard (``PaymentRefunded`` with origin
    "gateway"): the order books it too, as its own refund row (purpose ``gateway``), once by payments' refund
    id, and publishes ``OrderRefunded`` for the timeline and the customer. Caller's transaction."""
    payment = OrderPayment.objects.filter(payment_id=payment_id).first()
    if payment is None:
        return None
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    refund, created = OrderRefund.objects.get_or_create(
        refund_id=refund_id,
        defaults={
            "order": order,
            "payment": payment,
            "amount_minor": amount_minor,
            "purpose": OrderRefund.Purpose.GATEWAY,
            "status": OrderRefund.Status.PROCESSING,
            "note": "refunded in the payment provider's dashboard",
        },
    )
    if not _book(refund):
        return refund  # this event again
    publish(
        OrderRefunded(
            correlation_id=order.number,
            order_number=order.number,
            user_id=str(order.user.public_id) if order.user_id else None,
            customer_email=order.email,
            rma_number="",
            refunded_minor=amount_minor,
            currency=order.currency,
        )
    )
    log.info("gateway refund booked on the order", order=order.number, amount_minor=amount_minor)
    return OrderRefund.objects.get(pk=refund.pk)


def refund_rejected(*, refund_id, note: str) -> OrderRefund | None:
    """Finance rejected a waiting refund (``RefundRejected``): flag the order for staff. Caller's transaction."""
    refund = _locked(refund_id)
    if refund is None or refund.status not in OrderRefund.WAITING:
        return refund
    _flag(refund, status=OrderRefund.Status.REJECTED, note=note)
    return OrderRefund.objects.get(pk=refund.pk)


def refund_catch_up(*, refund: OrderRefund) -> OrderRefund:
    """A waiting refund just recorded: Finance may have decided before our row existed (its event then found
    nothing to book). Ask payments once and apply what it says."""
    if refund.status not in OrderRefund.WAITING:
        return refund
    current = next(
        (
            r
            for r in payment_selectors.refunds_for_payment(payment_id=refund.payment.payment_id)
            if r.id == refund.refund_id
        ),
        None,
    )
    if current is None or current.status in ("pending_approval", "processing"):
        return refund
    with transaction.atomic():
        if current.status == "succeeded":
            return refund_succeeded(refund_id=refund.refund_id, amount_minor=current.amount_minor) or refund
        locked = _locked(refund.refund_id)
        if locked is not None and locked.status in OrderRefund.WAITING:
            status = OrderRefund.Status.REJECTED if current.status == "rejected" else OrderRefund.Status.FAILED
            _flag(locked, status=status, note="")
    return OrderRefund.objects.get(pk=refund.pk)


def refunds_waiting_check(*, older_than_minutes: int = 10, limit: int = 200) -> int:
    """Sweeper: ask payments about refunds still waiting here. Payments publishes no event when an approved
    refund is then refused by the gateway (the refund ends ``failed``): this finds it and flags the order; it
    also books anything whose ``PaymentRefunded`` was missed. Returns how many changed."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    waiting = (
        OrderRefund.objects.filter(status__in=OrderRefund.WAITING, created_at__lte=cutoff)
        .select_related("payment")
        .order_by("created_at")[:limit]
    )
    changed = 0
    for refund in waiting:
        try:
            if refund_catch_up(refund=refund).status not in OrderRefund.WAITING:
                changed += 1
        except Exception:
            log.warning("waiting refund could not be checked", refund_id=str(refund.refund_id), exc_info=True)
    return changed
