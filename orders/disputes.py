"""The order's side of chargebacks: payments opens and closes disputes (``ChargebackOpened`` /
``ChargebackResolved``); the order shows it.

While a dispute is open the order is ``disputed``: on staff's attention list, marked in the admin and the API,
told calmly on the customer's page. When the bank decides, the marker goes (if no other dispute is open), and
a lost dispute's loss and fee are added to the order's books (``chargeback_lost_minor``,
``chargeback_fee_minor``): what the order finally brought in is captured − refunded − lost − fees.

Both run in the handler's transaction and are idempotent by payments' dispute id (``OrderDispute``).
"""

from __future__ import annotations

import structlog
from django.utils import timezone

from orders.models import Order, OrderDispute, OrderPayment

log = structlog.get_logger(__name__)


def _order_of_payment(*, reference: str, payment_id: str) -> Order | None:
    if not reference.startswith("order:"):
        return None
    link = OrderPayment.objects.filter(payment_id=payment_id).only("order_id").first()
    query = Order.objects.filter(pk=link.order_id) if link else Order.objects.filter(number=reference[6:])
    return query.select_for_update().first()


def order_dispute_opened(
    *, reference: str, payment_id: str, dispute_id: str, amount_minor: int, fee_minor: int, reason: str
) -> OrderDispute | None:
    """A payment of the order is disputed: record it and mark the order. Caller's transaction."""
    order = _order_of_payment(reference=reference, payment_id=payment_id)
    if order is None:
        return None
    dispute, created = OrderDispute.objects.get_or_create(
        dispute_id=dispute_id,
        defaults={
            "order": order,
            "payment_id": payment_id,
            "amount_minor": amount_minor,
            "fee_minor": fee_minor,
            "reason": reason[:100],
        },
    )
    if created and dispute.status == OrderDispute.Status.OPEN and not order.disputed:
        order.disputed = True
        order.save(update_fields=["disputed", "updated_at"])
    log.info("order disputed", order=order.number, dispute_id=dispute_id, amount_minor=amount_minor)
    return dispute


def order_dispute_resolved(*, dispute_id: str, outcome: str, loss_minor: int, fee_minor: int) -> OrderDispute | None:
    """The bank decided: the dispute closes, a loss and its fee are booked on the order, the marker goes when no
    other dispute of the order is open. Caller's transaction."""
    row = OrderDispute.objects.filter(dispute_id=dispute_id).only("order_id").first()
    if row is None:
        return None
    order = Order.objects.select_for_update().get(pk=row.order_id)
    dispute = OrderDispute.objects.select_for_update().get(pk=row.pk)
    if dispute.status != OrderDispute.Status.OPEN:
        return dispute  # this event again
    dispute.status = OrderDispute.Status.WON if outcome == "won" else OrderDispute.Status.LOST
    dispute.loss_minor = loss_minor
    dispute.fee_minor = fee_minor
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "loss_minor", "fee_minor", "resolved_at"])
    order.chargeback_lost_minor += loss_minor
    order.chargeback_fee_minor += fee_minor
    order.disputed = order.disputes.filter(status=OrderDispute.Status.OPEN).exists()
    order.save(update_fields=["chargeback_lost_minor", "chargeback_fee_minor", "disputed", "updated_at"])
    log.info("order dispute resolved", order=order.number, outcome=dispute.status, loss_minor=loss_minor)
    return dispute
