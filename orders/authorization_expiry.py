"""An authorization the gateway dropped before we captured it (``PaymentAuthorizationExpired``): the order is
flagged for staff (orders needing attention) while it still waits for that money; an order already captured,
or over, is only noted in the log. Re-authorizing is staff's call (or the customer's new payment); staff then
clear the flag (``orders.fulfilment.order_flag_clear``)."""

from __future__ import annotations

import structlog

from flowmart.money import Money
from orders.models import Order, OrderPayment

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
