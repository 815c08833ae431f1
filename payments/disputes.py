"""Disputes (chargebacks): opened and closed by the gateway's webhooks; evidence sent by staff.

Money: opening a dispute withdraws the disputed amount and the gateway's dispute fee from our balance (a
``dispute_withdrawal`` movement); a won dispute reinstates them (``dispute_reinstatement``), a lost one leaves
them gone: ``Dispute.loss_minor`` and ``fee_minor`` are the recorded loss, published in
``ChargebackResolved`` for the order's books.

Evidence is a three-phase command (docs/architecture.md §Transactions): record it (``submitting``) and commit;
send it with no transaction open under the key ``dispute-evidence-<dispute id>-<attempt>``; lock the dispute,
mark it ``submitted``, note it on the payment and publish ``DisputeEvidenceSubmitted``.
"""

from __future__ import annotations

import uuid

import structlog
from django.db import transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.notes import note_add
from payments import gateways
from payments.errors import DisputeEvidenceInvalid, DisputeNotFound, DisputeNotOpen, GatewayRefused, GatewayUnavailable
from payments.events import (
    ChargebackOpened,
    ChargebackResolved,
    DisputeEvidenceSubmitted,
)
from payments.gateways.base import GatewayError
from payments.models import (
    REFUNDABLE_STATES,
    Dispute,
    Payment,
    PaymentMovement,
    PaymentNote,
    PaymentStatus,
)
from payments.steps import gateway_call, history_record, movement_record, payment_lock

log = structlog.get_logger(__name__)

EVIDENCE_TEXT_MAX = 20000  # Stripe's limit on the text evidence fields together is 150,000 characters


# -- disputes (chargebacks), driven by the gateway's webhooks ---------------------------------
def dispute_open(
    *,
    gateway: str,
    charge_id: str,
    dispute_ref: str,
    amount_minor: int,
    currency: str,
    reason: str,
    fee_minor: int = 0,
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
            fee_minor=fee_minor,
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
        movement_record(
            payment,
            kind=PaymentMovement.Kind.DISPUTE_WITHDRAWAL,
            amount_minor=-amount_minor,
            fee_minor=fee_minor,
            source_ref=dispute_ref,
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
                fee_minor=fee_minor,
            )
        )
    return dispute


def dispute_close(
    *, dispute_ref: str, won: bool, loss_minor: int | None = None, fee_minor: int | None = None
) -> Dispute | None:
    """The bank decided: won (we keep the money) or lost (it went back to the cardholder). Idempotent.

    ``loss_minor`` / ``fee_minor``: what the gateway's books say the dispute finally cost (net of what it
    reinstated); without them, a loss is the disputed amount and the fee stays as withdrawn, a win costs
    nothing. What was withdrawn and is no longer lost is a reinstatement movement."""
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(gateway_ref=dispute_ref).first()
        if dispute is None:
            log.warning("closing an unknown dispute", dispute_ref=dispute_ref)
            return None
        if dispute.status != Dispute.Status.OPEN:
            return dispute
        payment = payment_lock(dispute.payment_id)
        withdrawn_fee = dispute.fee_minor
        dispute.status = Dispute.Status.WON if won else Dispute.Status.LOST
        dispute.resolved_at = timezone.now()
        dispute.loss_minor = loss_minor if loss_minor is not None else (0 if won else dispute.amount_minor)
        dispute.fee_minor = fee_minor if fee_minor is not None else (0 if won else withdrawn_fee)
        dispute.save(update_fields=["status", "resolved_at", "loss_minor", "fee_minor"])
        reinstated = dispute.amount_minor - dispute.loss_minor
        fee_back = withdrawn_fee - dispute.fee_minor
        if reinstated or fee_back:
            movement_record(
                payment,
                kind=PaymentMovement.Kind.DISPUTE_REINSTATEMENT,
                amount_minor=reinstated,
                fee_minor=-fee_back,
                source_ref=dispute_ref,
            )
        reason = f"Chargeback {dispute.status}"
        if dispute.loss_minor or dispute.fee_minor:
            reason += f": lost {dispute.loss_minor} + fee {dispute.fee_minor} {dispute.currency} (minor units)"
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
                loss_minor=dispute.loss_minor,
                fee_minor=dispute.fee_minor,
            )
        )
    return dispute


# -- evidence, by staff -----------------------------------------------------------------------
def dispute_evidence_submit(*, dispute_id: uuid.UUID | str, text: str, file_description: str = "", by=None) -> Dispute:
    """Send our side of the story to the gateway and submit it (the bank then decides, by webhook).

    Allowed while the dispute is open and its evidence not submitted yet (a refused or unanswered attempt may
    be sent again, under a new key). Raises ``DisputeNotOpen`` (409), ``DisputeEvidenceInvalid`` (400),
    ``GatewayRefused`` / ``GatewayUnavailable`` (the attempt is then marked failed)."""
    text = (text or "").strip()
    file_description = (file_description or "").strip()
    if not text:
        raise DisputeEvidenceInvalid("Evidence text is required.", errors={"text": ["required"]})
    if len(text) > EVIDENCE_TEXT_MAX or len(file_description) > 500:
        raise DisputeEvidenceInvalid("The evidence is too long.", errors={"text": ["too_long"]})
    with transaction.atomic():  # 1. record what we send, under which key
        try:
            dispute = Dispute.objects.select_for_update().select_related("payment").get(pk=dispute_id)
        except (Dispute.DoesNotExist, ValueError, TypeError) as exc:
            raise DisputeNotFound(f"No dispute {dispute_id}.") from exc
        if dispute.status != Dispute.Status.OPEN:
            raise DisputeNotOpen(f"This dispute is {dispute.get_status_display().lower()}: it takes no evidence.")
        if dispute.evidence_status in (Dispute.EvidenceStatus.SUBMITTED, Dispute.EvidenceStatus.SUBMITTING):
            raise DisputeNotOpen("Evidence for this dispute was already sent.")
        dispute.evidence_text = text
        dispute.evidence_file_description = file_description
        dispute.evidence_status = Dispute.EvidenceStatus.SUBMITTING
        dispute.evidence_attempt += 1
        dispute.evidence_error = ""
        dispute.evidence_submitted_by = by if getattr(by, "pk", None) else None
        dispute.save()
    payment = dispute.payment
    evidence = {"uncategorized_text": text}
    if file_description:
        evidence["uncategorized_text"] += f"\n\nSupporting document: {file_description}"
    try:  # 2. call out, no transaction open
        gateway_call(
            "dispute_evidence",
            gateways.get_gateway(payment.gateway).dispute_submit_evidence,
            dispute_ref=dispute.gateway_ref,
            evidence=evidence,
            idempotency_key=f"dispute-evidence-{dispute.id}-{dispute.evidence_attempt}",
        )
    except GatewayError as exc:
        _evidence_failed(dispute, message=exc.message or exc.code, by=by)
        raise GatewayRefused(exc.message or "The gateway refused the evidence.", gateway_code=exc.code) from exc
    except GatewayUnavailable:
        _evidence_failed(dispute, message="The payment provider did not answer.", by=by)
        raise
    with transaction.atomic():  # 3. apply
        locked_payment = payment_lock(payment.pk)
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if dispute.evidence_status != Dispute.EvidenceStatus.SUBMITTING:
            return dispute
        dispute.evidence_status = Dispute.EvidenceStatus.SUBMITTED
        dispute.evidence_submitted_at = timezone.now()
        dispute.save(update_fields=["evidence_status", "evidence_submitted_at"])
        note_add(
            locked_payment,
            kind=PaymentNote.Kind.DISPUTE_EVIDENCE_SUBMITTED,
            by=by,
            text=f"Evidence for dispute {dispute.gateway_ref} submitted",
        )
        publish(
            DisputeEvidenceSubmitted(
                correlation_id=locked_payment.correlation_id,
                payment_id=str(locked_payment.id),
                dispute_id=str(dispute.id),
                reference=locked_payment.reference,
                submitted_by=getattr(by, "email", "") or "",
            )
        )
    log.info("dispute evidence submitted", dispute_id=str(dispute.id), gateway_ref=dispute.gateway_ref)
    return dispute


def _evidence_failed(dispute: Dispute, *, message: str, by) -> None:
    with transaction.atomic():
        locked_payment = payment_lock(dispute.payment_id)
        Dispute.objects.filter(pk=dispute.pk, evidence_status=Dispute.EvidenceStatus.SUBMITTING).update(
            evidence_status=Dispute.EvidenceStatus.FAILED, evidence_error=message[:255]
        )
        note_add(
            locked_payment,
            kind=PaymentNote.Kind.DISPUTE_EVIDENCE_FAILED,
            by=by,
            text=f"Evidence for dispute {dispute.gateway_ref} not accepted: {message}",
        )
    log.warning("dispute evidence failed", dispute_id=str(dispute.id), error=message)
