"""Disputes (chargebacks), driven by the gateway's webhooks."""

from __future__ import annotations

import structlog
from django.db import transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.notes import note_add
from payments.events import (
    ChargebackOpened,
    ChargebackResolved,
)
from payments.models import (
    REFUNDABLE_STATES,
    Dispute,
    Payment,
    PaymentNote,
    PaymentStatus,
)
from payments.steps import history_record, payment_lock

log = structlog.get_logger(__name__)


# -- disputes (chargebacks), driven by the gateway's webhooks ---------------------------------
def dispute_open(
    *, gateway: str, charge_id: str, dispute_ref: str, amount_minor: int, currency: str, reason: str
) -> Dispute | None:
    """Record a chargeback the gateway told us about. Idempotent by the gateway's dispute id."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(gateway=gateway, gateway_ref=charge_id).first()
        if payment is None:
            log.warning("dispute for an unknown charge", gateway=gateway, charge_id=charge_id)
            return None
        existing = Dispute.objects.filter(gateway_ref=dispute_ref).first()
        if existing is not None:
            return existing
        dispute = Dispute.objects.create(
            payment=payment,
            gateway_ref=dispute_ref,
            amount_minor=amount_minor,
            currency=currency.upper(),
            reason=reason,
        )
        if payment.status in REFUNDABLE_STATES:
            from_status = payment.status
            payment.open_dispute()
            payment.save()
            history_record(payment, from_status, reason=f"Chargeback opened: {reason}", amount_minor=amount_minor)
        else:  # disputed already, refunded, …: the state stays
            note_add(
                payment,
                kind=PaymentNote.Kind.CHARGEBACK_OPENED,
                text=f"Chargeback opened: {reason}",
                amount_minor=amount_minor,
            )
        publish(
            ChargebackOpened(
                correlation_id=payment.correlation_id,
                payment_id=str(payment.id),
                dispute_id=str(dispute.id),
                reference=payment.reference,
                amount_minor=amount_minor,
                currency=dispute.currency,
                reason=reason,
            )
        )
    return dispute


def dispute_close(*, dispute_ref: str, won: bool) -> Dispute | None:
    """The bank decided: won (we keep the money) or lost (it went back to the cardholder). Idempotent."""
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(gateway_ref=dispute_ref).first()
        if dispute is None:
            log.warning("closing an unknown dispute", dispute_ref=dispute_ref)
            return None
        if dispute.status != Dispute.Status.OPEN:
            return dispute
        payment = payment_lock(dispute.payment_id)
        dispute.status = Dispute.Status.WON if won else Dispute.Status.LOST
        dispute.resolved_at = timezone.now()
        dispute.save(update_fields=["status", "resolved_at"])
        reason = f"Chargeback {dispute.status}"
        if payment.status == PaymentStatus.DISPUTED:
            from_status = payment.status
            payment.win_dispute() if won else payment.lose_dispute()
            payment.save()
            history_record(payment, from_status, reason=reason, amount_minor=dispute.amount_minor)
        else:  # the payment was never put in dispute (it could not move then): the state stays
            note_add(payment, kind=PaymentNote.Kind.CHARGEBACK_RESOLVED, text=reason, amount_minor=dispute.amount_minor)
        publish(
            ChargebackResolved(
                correlation_id=payment.correlation_id,
                payment_id=str(payment.id),
                dispute_id=str(dispute.id),
                reference=payment.reference,
                outcome=dispute.status,
                amount_minor=dispute.amount_minor,
                currency=dispute.currency,
            )
        )
    return dispute
