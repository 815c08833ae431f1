"""Refunds, with Finance approval above the threshold."""

from __future__ import annotations

import uuid

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from flowmart.errors import FlowMartError, InvalidTransition
from flowmart.events.publisher import publish
from flowmart.notes import note_add
from payments import gateways
from payments.errors import (
    GatewayRefused,
    GatewayUnavailable,
    PaymentIdempotencyConflict,
    RefundApprovalForbidden,
    RefundExceedsCaptured,
    RefundNotFound,
    RefundNotPending,
)
from payments.events import (
    PaymentRefunded,
    RefundRejected,
)
from payments.gateways.base import (
    REFUND_METADATA,
    GatewayError,
)
from payments.models import (
    REFUNDABLE_STATES,
    Payment,
    PaymentMovement,
    PaymentNote,
    PaymentStatus,
    Refund,
)
from payments.selectors import (
    RefundInfo,
    refund_info,
)
from payments.steps import amount_check, gateway_call, history_record, movement_record, payment_load, payment_lock

log = structlog.get_logger(__name__)

FINANCE_GROUP = "Finance"
APPROVE_REFUND_PERMISSION = "payments.approve_refund"


# -- refunds ----------------------------------------------------------------------------------
def payment_refund(
    *,
    payment_id: uuid.UUID | str,
    amount_minor: int,
    reason: str,
    requested_by=None,
    idempotency_key: str,
) -> RefundInfo:
    """Refund part or all of what was captured; never more than that in total, however many run at once.

    Above ``REFUND_APPROVAL_THRESHOLD_MINOR`` the refund waits (``pending_approval``)
    for a member of the Finance group (``refund_approve`` / ``refund_reject``).
    The same ``idempotency_key`` returns the same refund.
    """
    amount_check(amount_minor)
    if not idempotency_key or len(idempotency_key) > 255:
        raise FlowMartError("An idempotency key of 1 to 255 characters is required.")
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _refund_replay(existing, payment_id=payment_id, amount_minor=amount_minor)
    payment = payment_load(payment_id)
    try:
        with transaction.atomic():
            locked = payment_lock(payment.pk)  # serialises refunds of one payment: the total check below is exact
            if locked.status not in REFUNDABLE_STATES:
                raise InvalidTransition(f"A {locked.get_status_display().lower()} payment cannot be refunded.")
            reserved = (
                locked.refunds.filter(status__in=Refund.RESERVING).aggregate(total=Sum("amount_minor"))["total"] or 0
            )
            left = locked.captured_minor - reserved
            if amount_minor > left:
                raise RefundExceedsCaptured(
                    f"Only {left} {locked.currency} (minor units) of this payment can still be refunded.",
                    refundable_minor=left,
                )
            needs_approval = amount_minor > settings.REFUND_APPROVAL_THRESHOLD_MINOR
            refund = Refund.objects.create(
                payment=locked,
                amount_minor=amount_minor,
                currency=locked.currency,
                reason=reason[:255],
                idempotency_key=idempotency_key,
                status=Refund.Status.PENDING_APPROVAL if needs_approval else Refund.Status.PROCESSING,
                requested_by=requested_by if getattr(requested_by, "pk", None) else None,
            )
            note = "waiting for Finance approval" if needs_approval else "sent to the gateway"
            note_add(
                locked,
                kind=PaymentNote.Kind.REFUND_REQUESTED,
                by=requested_by,
                text=f"Refund requested ({note}): {reason}",
                amount_minor=amount_minor,
            )
    except IntegrityError:  # the same idempotency key, concurrently
        return _refund_replay(
            Refund.objects.get(idempotency_key=idempotency_key), payment_id=payment_id, amount_minor=amount_minor
        )
    if needs_approval:
        log.info("refund waiting for approval", refund_id=str(refund.id), amount_minor=amount_minor)
        return refund_info(refund)
    return refund_info(refund_execute(refund, by=requested_by))


def _refund_replay(refund: Refund, *, payment_id, amount_minor: int) -> RefundInfo:
    if str(refund.payment_id) != str(payment_id) or refund.amount_minor != amount_minor:
        raise PaymentIdempotencyConflict("This idempotency key was already used for a different refund.")
    if refund.status == Refund.Status.PROCESSING:  # an earlier attempt died before recording the answer
        return refund_info(refund_execute(refund, by=refund.requested_by))
    return refund_info(refund)


def refund_execute(refund: Refund, *, by) -> Refund:
    payment = refund.payment
    gateway = gateways.get_gateway(payment.gateway)
    try:
        answer = gateway_call(
            "refund",
            gateway.refund,
            charge_id=payment.gateway_ref,
            amount_minor=refund.amount_minor,
            idempotency_key=f"refund-{refund.id}",
            metadata={REFUND_METADATA: str(refund.id)},
        )
    except GatewayError as exc:  # refused: the reserved amount is released
        _refund_failed(refund, message=exc.message or exc.code)
        raise GatewayRefused(exc.message or "The gateway refused the refund.", gateway_code=exc.code) from exc
    except GatewayUnavailable:
        _refund_failed(refund, message="The payment provider did not answer.")
        raise
    with transaction.atomic():
        locked = payment_lock(payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PROCESSING:
            return refund
        refund.status = Refund.Status.SUCCEEDED
        refund.gateway_ref = answer.id
        refund.save(update_fields=["status", "gateway_ref", "updated_at"])
        _refund_book(locked, refund, by=by, origin="flowmart")
    log.info("refund succeeded", refund_id=str(refund.id), payment_id=str(locked.id), amount_minor=refund.amount_minor)
    return refund


def _refund_book(locked: Payment, refund: Refund, *, by, origin: str) -> None:
    """A succeeded refund moves the payment (or, if it cannot move, is noted), is dated as a movement and
    published. Caller's transaction, payment locked."""
    if locked.status in REFUNDABLE_STATES:
        from_status = locked.status
        locked.refund(amount_minor=refund.amount_minor)
        locked.save()
        history_record(
            locked, from_status, by=by, reason=f"Refunded: {refund.reason}", amount_minor=refund.amount_minor
        )
    else:  # disputed, say: the money went back, the state stays
        note_add(
            locked,
            kind=PaymentNote.Kind.REFUNDED,
            by=by,
            text=f"Refunded: {refund.reason}",
            amount_minor=refund.amount_minor,
        )
    movement_record(
        locked, kind=PaymentMovement.Kind.REFUND, amount_minor=-refund.amount_minor, source_ref=refund.gateway_ref
    )
    publish(
        PaymentRefunded(
            correlation_id=locked.correlation_id,
            payment_id=str(locked.id),
            refund_id=str(refund.id),
            reference=locked.reference,
            amount_minor=refund.amount_minor,
            refunded_total_minor=locked.refunded_minor,
            currency=locked.currency,
            reason=refund.reason,
            fully_refunded=locked.status == PaymentStatus.REFUNDED,
            user_id=str(locked.customer_id) if locked.customer_id else None,
            customer_email=locked.customer_email,
            origin=origin,
        )
    )


def refund_record_external(
    *, gateway: str, charge_id: str, refund_ref: str, amount_minor: int, metadata: dict | None = None
) -> Refund | None:
    """A refund the gateway reports (webhook) that FlowMart did not make: someone refunded in the gateway's
    dashboard. It is booked like ours (a succeeded ``Refund``, the payment's transition, ``PaymentRefunded``
    with ``origin="gateway"``), once: a refund we know by its gateway id, or one of ours still being recorded
    (its ``flowmart_refund_id`` metadata), is left alone (None). Caller's transaction."""
    ours = (metadata or {}).get(REFUND_METADATA)
    if ours and Refund.objects.filter(pk=ours).exists():
        return None  # our own refund: refund_execute (or the resume sweep) books it
    payment = Payment.objects.select_for_update().filter(gateway=gateway, gateway_ref=charge_id).first()
    if payment is None:
        log.warning("refund for an unknown charge", gateway=gateway, charge_id=charge_id, refund_ref=refund_ref)
        return None
    if Refund.objects.filter(payment=payment, gateway_ref=refund_ref).exists():
        return None  # booked already (ours, or this dashboard refund told by another event type)
    if amount_minor <= 0 or amount_minor > payment.captured_minor - payment.refunded_minor:
        # The gateway never refunds more than captured: our books are off already; staff look (reconciliation).
        log.error("gateway refund exceeds what we have as refundable", payment_id=str(payment.id), ref=refund_ref)
        return None
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount_minor,
        currency=payment.currency,
        reason="Refunded in the payment provider's dashboard",
        idempotency_key=f"external-{gateway}-{refund_ref}",
        status=Refund.Status.SUCCEEDED,
        gateway_ref=refund_ref,
    )
    _refund_book(payment, refund, by=None, origin="gateway")
    log.info("dashboard refund booked", refund_id=str(refund.id), payment_id=str(payment.id), amount=amount_minor)
    return refund


def _refund_failed(refund: Refund, *, message: str) -> None:
    with transaction.atomic():
        locked = payment_lock(refund.payment_id)
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PROCESSING).update(
            status=Refund.Status.FAILED, failure_message=message[:255], updated_at=timezone.now()
        )
        note_add(
            locked,
            kind=PaymentNote.Kind.REFUND_FAILED,
            text=f"Refund failed: {message}",
            amount_minor=refund.amount_minor,
        )
    log.warning("refund failed", refund_id=str(refund.id), error=message)


def _require_finance(user, refund: Refund) -> None:
    """A second person with the approval permission (Finance, Manager: docs/staff.md §Roles) decides."""
    if user is None or not user.is_authenticated or not user.has_perm(APPROVE_REFUND_PERMISSION):
        raise RefundApprovalForbidden("Only members of the Finance group can decide on refunds.")
    if refund.requested_by_id is not None and refund.requested_by_id == user.pk:
        raise RefundApprovalForbidden(
            "You asked for this refund: someone else in Finance decides on it.", code="refund_self_approval"
        )


def _decide(refund_id, *, by, approve: bool, note: str) -> Refund:
    if by is None or not by.is_authenticated:
        raise RefundApprovalForbidden("Only members of the Finance group can decide on refunds.")
    with transaction.atomic():
        try:
            refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        except (Refund.DoesNotExist, ValidationError, ValueError) as exc:
            raise RefundNotFound(f"No refund {refund_id}.") from exc
        _require_finance(by, refund)
        if refund.status != Refund.Status.PENDING_APPROVAL:
            raise RefundNotPending(f"This refund is {refund.get_status_display().lower()}.")
        payment = payment_lock(refund.payment_id)
        refund.status = Refund.Status.PROCESSING if approve else Refund.Status.REJECTED
        refund.decided_by = by
        refund.decided_at = timezone.now()
        refund.decision_note = note[:255]
        refund.save()
        verdict = "approved" if approve else "rejected"
        note_add(
            payment,
            kind=PaymentNote.Kind.REFUND_APPROVED if approve else PaymentNote.Kind.REFUND_REJECTED,
            by=by,
            text=f"Refund {verdict} by Finance{': ' + note if note else ''}",
            amount_minor=refund.amount_minor,
        )
        if not approve:
            publish(
                RefundRejected(
                    correlation_id=payment.correlation_id,
                    payment_id=str(payment.id),
                    refund_id=str(refund.id),
                    reference=payment.reference,
                    amount_minor=refund.amount_minor,
                    currency=refund.currency,
                    note=note,
                )
            )
    return refund


def refund_approve(*, refund_id: uuid.UUID | str, by, note: str = "") -> RefundInfo:
    """A Finance member approves a waiting refund; it is sent to the gateway at once."""
    refund = _decide(refund_id, by=by, approve=True, note=note)
    return refund_info(refund_execute(refund, by=by))


def refund_reject(*, refund_id: uuid.UUID | str, by, note: str = "") -> RefundInfo:
    """A Finance member rejects a waiting refund; its amount becomes refundable again."""
    return refund_info(_decide(refund_id, by=by, approve=False, note=note))
