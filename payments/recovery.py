"""Recovery: finish what a crash interrupted, asking the gateway again with the same key."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from django.conf import settings
from django.utils import timezone

from payments import gateways, metrics
from payments.charges import payment_send
from payments.errors import GatewayRefused, GatewayUnavailable
from payments.gateways.base import KEY_METADATA, GatewayCharge, GatewayError
from payments.models import (
    Payment,
    PaymentStatus,
    Refund,
    StrayAuthorization,
)
from payments.refunds import refund_execute
from payments.steps import gateway_call

log = structlog.get_logger(__name__)


# -- recovery -----------------------------------------------------------------------------------
def payments_resume_stuck(*, older_than_minutes: int = 10) -> int:
    """Finish what a crash interrupted: payments still ``pending`` and refunds still ``processing``.

    The gateway is asked again with the same idempotency key, so it answers with
    what it did the first time (money never moves twice); the answer is then
    recorded and published as usual. A pending payment that was abandoned (its
    order no longer waits for it) is never authorized: what the gateway holds
    for it is voided instead (``payment_send``). Returns how many were resumed.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    resumed = 0
    for payment in Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lt=cutoff):
        payment_send(payment, publish_success=True)
        resumed += 1
    for refund in Refund.objects.filter(status=Refund.Status.PROCESSING, updated_at__lt=cutoff).select_related(
        "payment"
    ):
        try:
            refund_execute(refund, by=None)
        except (GatewayUnavailable, GatewayRefused):
            log.warning("stuck refund could not be completed", refund_id=str(refund.id))
        resumed += 1
    return resumed


# -- stray authorizations ----------------------------------------------------------------------
def payments_stray_authorizations_void(*, older_than_minutes: int | None = None) -> int:
    """Void every hold the gateway keeps that no authorized payment of ours explains, and report it.

    A hold is explained by our payment with that charge id in ``authorized``, or by a payment still ``pending``
    and not abandoned (its answer is about to be recorded: the saga or ``payments_resume_stuck`` does it).
    A hold without FlowMart's ``flowmart_key`` and no payment of ours was made by someone else on the same
    account and is left alone. Anything else — a payment failed after a lost answer, abandoned, voided, or
    no payment at all — is voided
    with its own idempotency key, logged as an error and kept as a ``StrayAuthorization`` row for staff (and
    counted in ``flowmart_payments_stray_authorizations_total``). Holds younger than
    ``PAYMENTS_STRAY_AUTHORIZATION_MINUTES`` are left alone: their answer may still be on its way.
    Returns how many holds were voided.
    """
    minutes = settings.PAYMENTS_STRAY_AUTHORIZATION_MINUTES if older_than_minutes is None else older_than_minutes
    gateway = gateways.get_gateway()
    held = gateway_call(
        "list held authorizations",
        gateway.authorizations_held,
        created_before=timezone.now() - timedelta(minutes=minutes),
    )
    if not held:
        return 0
    ours = {
        p.gateway_ref: p for p in Payment.objects.filter(gateway=gateway.name, gateway_ref__in=[c.id for c in held])
    }
    by_id = {
        str(p.id): p
        for p in Payment.objects.filter(
            pk__in=[c.metadata["payment_id"] for c in held if _uuid_like(c.metadata.get("payment_id", ""))]
        )
    }
    voided = 0
    for charge in held:
        payment = ours.get(charge.id) or by_id.get(charge.metadata.get("payment_id", ""))
        if payment is not None and payment.status == PaymentStatus.AUTHORIZED and payment.gateway_ref == charge.id:
            continue
        if payment is not None and payment.status == PaymentStatus.PENDING:
            if payment.abandoned_at is None:
                continue
            payment_send(payment, publish_success=False)  # abandoned: settled (its hold voided) by the usual path
            continue
        if payment is None and KEY_METADATA not in charge.metadata:
            # Not a hold FlowMart made (an account shared with another system): never ours to cancel.
            log.warning("held authorization not made by FlowMart left alone", gateway_ref=charge.id)
            continue
        voided += _stray_void(gateway, charge, payment)
    return voided


def _stray_void(gateway, charge: GatewayCharge, payment: Payment | None) -> int:
    try:
        gateway_call("void", gateway.void, charge_id=charge.id, idempotency_key=f"void-stray-{charge.id}")
        status, error = StrayAuthorization.Status.VOIDED, ""
    except (GatewayError, GatewayUnavailable) as exc:
        status, error = StrayAuthorization.Status.VOID_FAILED, str(exc)[:255]
    StrayAuthorization.objects.update_or_create(
        gateway=gateway.name,
        gateway_ref=charge.id,
        defaults={
            "amount_minor": charge.amount_minor,
            "currency": charge.currency,
            "reference": charge.metadata.get("reference", "")[:100],
            "payment": payment,
            "payment_status": payment.status if payment is not None else "",
            "status": status,
            "error": error,
            "held_since": charge.created_at,
            "voided_at": timezone.now() if status == StrayAuthorization.Status.VOIDED else None,
        },
    )
    metrics.STRAY_AUTHORIZATIONS.labels(status).inc()
    log.error(
        "stray authorization at the gateway",
        gateway_ref=charge.id,
        amount_minor=charge.amount_minor,
        currency=charge.currency,
        reference=charge.metadata.get("reference", ""),
        payment_id=str(payment.id) if payment is not None else None,
        payment_status=payment.status if payment is not None else None,
        outcome=status,
    )
    return 1 if status == StrayAuthorization.Status.VOIDED else 0


def _uuid_like(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
