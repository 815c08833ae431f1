"""An authorization the gateway dropped before we captured it (``PaymentAuthorizationExpired``): the order is
flagged for staff (orders needing attention) while it still waits for that money; an order already captured,
or over, is only noted in the log. Re-authorizing is staff's call (or the customer's new payment)."""

from __future__ import annotations

import structlog
from django.db import transaction

from flowmart.money import Money
from flowmart.notes import note_add
from orders.errors import OrderActionNotAllowed
from orders.models import Order, OrderNote, OrderPayment

log = structlog.get_logger(__name__)

AUTHORIZATION_EXPIRED = "authorization_expired"


def order_authorization_expired(*, payment_id: str, amount_minor: int) -> Order | None:
    """Flag the order whose uncaptured authorization expired. Caller's transaction (the handler's)."""
    link = OrderPayment.objects.filter(payment_id=payment_id).first()
    if link is None:
        return None
    order = Order.objects.select_for_update().get(pk=link.order_id)
    if link.captured_minor or link.voided or order.stock_committed or order.is_terminal:
        log.info("expired authorization needs nothing", order=order.number, payment_id=payment_id)
        return None
    detail = (
        f"card authorization of {Money(amount_minor, order.currency)} expired at the payment provider before "
        "capture: re-authorize or contact the customer before the parcel leaves"
    )
    if order.failure_code and order.failure_code != AUTHORIZATION_EXPIRED:
        order.failure_detail = f"{order.failure_detail}; {detail}"[:500]  # keep the code that drives behaviour
    else:
        order.failure_code = AUTHORIZATION_EXPIRED
        order.failure_detail = detail[:500]
    order.save(update_fields=["failure_code", "failure_detail", "updated_at"])
    log.warning("order authorization expired", order=order.number, payment_id=payment_id)
    return order


def order_authorization_flag_clear(*, order: Order, by=None, reason: str = "") -> Order:
    """Staff dealt with an expired authorization (re-authorized, cancelled, or the customer paid again): the
    order leaves the attention list, with a note of who and why."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.failure_code != AUTHORIZATION_EXPIRED:
            raise OrderActionNotAllowed("This order has no expired authorization waiting for staff.")
        detail = order.failure_detail
        order.failure_code = ""
        order.failure_detail = ""
        order.save(update_fields=["failure_code", "failure_detail", "updated_at"])
        note_add(
            order,
            kind=OrderNote.Kind.AUTHORIZATION_ISSUE_RESOLVED,
            by=by,
            text=f"Dealt with: {detail}" + (f" ({reason})" if reason else ""),
        )
    return order
