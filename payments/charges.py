"""Authorize, charge, capture and void (see ``payments.services`` for the pattern every command follows)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import IntegrityError, transaction

from flowmart.errors import FlowMartError, InvalidTransition
from flowmart.events.publisher import publish
from payments import gateways
from payments.errors import (
    GatewayRefused,
    GatewayUnavailable,
    InvalidAmount,
    InvalidPaymentMethod,
    PaymentDeclined,
    PaymentIdempotencyConflict,
)
from payments.events import (
    PaymentCaptured,
    PaymentInitiated,
    PaymentVoided,
)
from payments.gateways.base import (
    CardDeclined,
    GatewayError,
    UnknownPaymentMethod,
)
from payments.models import (
    REFUNDABLE_STATES,
    Payment,
    PaymentStatus,
)
from payments.selectors import (
    PaymentInfo,
    payment_info,
)
from payments.steps import (
    CURRENCY_CODE,
    amount_check,
    correlation_for,
    gateway_call,
    history_record,
    payment_load,
    payment_lock,
    payment_method_check,
    processed_event,
)

log = structlog.get_logger(__name__)


# -- authorize / charge -----------------------------------------------------------------------
@dataclass(frozen=True)
class PaymentRequest:
    """What every authorization and charge carries: what it pays for, how much, with which payment method,
    under which idempotency key, and for whom. ``customer_user_id`` (User.public_id) lets that customer see
    the payment through the API; ``correlation_id`` defaults to the reference's flow."""

    reference: str
    amount_minor: int
    currency: str
    payment_method: str
    idempotency_key: str
    customer_email: str = ""
    customer_user_id: str | uuid.UUID | None = None
    correlation_id: str | None = None


def payment_authorize(request: PaymentRequest) -> PaymentInfo:
    """Authorize (hold) the amount on the payment method. The same idempotency key returns the same payment.

    Raises PaymentDeclined (402, ``decline_code``), InvalidPaymentMethod (400),
    GatewayUnavailable (503, after retries).
    """
    return _payment_run(request, capture=False)


def payment_charge(request: PaymentRequest) -> PaymentInfo:
    """Authorize and capture at once (subscriptions, invoices). Same errors as ``payment_authorize``."""
    return _payment_run(request, capture=True)


def _payment_run(request: PaymentRequest, *, capture: bool) -> PaymentInfo:
    amount_check(request.amount_minor)
    if not isinstance(request.currency, str) or not CURRENCY_CODE.match(request.currency):
        raise InvalidAmount("currency must be an ISO 4217 code such as USD.", errors={"currency": ["invalid"]})
    if not request.reference or len(request.reference) > 100:
        raise FlowMartError("A payment reference (e.g. order:FM-…) of at most 100 characters is required.")
    if not request.idempotency_key or len(request.idempotency_key) > 255:
        raise FlowMartError("An idempotency key of 1 to 255 characters is required.")
    payment_method_check(request.payment_method)
    customer_id = None
    if request.customer_user_id:
        try:
            customer_id = uuid.UUID(str(request.customer_user_id))
        except ValueError as exc:
            raise FlowMartError("customer_user_id must be the user's public id (a UUID).") from exc

    payment = _payment_open(
        reference=request.reference,
        amount_minor=request.amount_minor,
        currency=request.currency,
        payment_method=request.payment_method,
        idempotency_key=request.idempotency_key,
        customer_email=request.customer_email,
        customer_id=customer_id,
        correlation_id=request.correlation_id or correlation_for(request.reference),
    )
    if payment.status == PaymentStatus.PENDING:
        payment = payment_send(payment, publish_success=not capture)
    if payment.status == PaymentStatus.FAILED:
        _raise_failure(payment)
    if capture and payment.status == PaymentStatus.AUTHORIZED:
        payment = _capture(payment, amount_minor=payment.amount_minor, by=None, as_charge=True)
    return payment_info(payment)


def _payment_open(*, idempotency_key: str, **fields: Any) -> Payment:
    """The payment for this idempotency key: created (pending, PaymentInitiated) if new."""
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    idempotency_key=idempotency_key, gateway=gateways.get_gateway().name, **fields
                )
                history_record(payment, "", reason="Payment initiated", amount_minor=payment.amount_minor)
                publish(
                    PaymentInitiated(
                        correlation_id=payment.correlation_id,
                        payment_id=str(payment.id),
                        reference=payment.reference,
                        amount_minor=payment.amount_minor,
                        currency=payment.currency,
                        user_id=str(payment.customer_id) if payment.customer_id else None,
                        customer_email=payment.customer_email,
                    )
                )
            return payment
        except IntegrityError:  # a concurrent call with the same key won the race
            existing = Payment.objects.get(idempotency_key=idempotency_key)
    same = (
        existing.reference == fields["reference"]
        and existing.amount_minor == fields["amount_minor"]
        and existing.currency == fields["currency"]
        and existing.payment_method == fields["payment_method"]
    )
    if not same:
        raise PaymentIdempotencyConflict("This idempotency key was already used for a different payment.")
    return existing


def payment_send(payment: Payment, *, publish_success: bool) -> Payment:
    """Ask the gateway to authorize a pending payment (outside any transaction), then record the answer."""
    gateway = gateways.get_gateway(payment.gateway)
    try:
        charge = gateway_call(
            "authorize",
            gateway.authorize,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=f"authorize-{payment.id}",
            description=payment.reference,
        )
    except CardDeclined as exc:
        return _payment_fail(payment, decline_code=exc.decline_code, message=exc.message, gateway_ref=exc.charge_id)
    except UnknownPaymentMethod:
        return _payment_fail(payment, decline_code="invalid_payment_method", message="The payment method is not valid.")
    except GatewayUnavailable:
        return _payment_fail(
            payment, decline_code="gateway_unavailable", message="The payment provider did not answer."
        )
    except GatewayError as exc:
        return _payment_fail(payment, decline_code=exc.code, message=exc.message or "Refused by the gateway.")

    with transaction.atomic():
        locked = payment_lock(payment.pk)
        if locked.status != PaymentStatus.PENDING:  # a concurrent retry with the same key recorded it already
            return locked
        locked.authorize(gateway_ref=charge.id, brand=charge.brand, last4=charge.last4)
        locked.save()
        history_record(
            locked, PaymentStatus.PENDING, reason="Authorized by the gateway", amount_minor=locked.amount_minor
        )
        if publish_success:
            publish(processed_event(locked))
    log.info("payment authorized", payment_id=str(locked.id), reference=locked.reference, brand=locked.brand)
    return locked


def _payment_fail(payment: Payment, *, decline_code: str, message: str, gateway_ref: str = "") -> Payment:
    with transaction.atomic():
        locked = payment_lock(payment.pk)
        if locked.status != PaymentStatus.PENDING:
            return locked
        locked.fail(decline_code=decline_code, message=message, gateway_ref=gateway_ref)
        locked.save()
        history_record(locked, PaymentStatus.PENDING, reason=f"Failed: {decline_code}")
        publish(processed_event(locked, reason=message))
    log.info("payment failed", payment_id=str(locked.id), reference=locked.reference, decline_code=decline_code)
    return locked


def _raise_failure(payment: Payment) -> None:
    if payment.decline_code == "invalid_payment_method":
        raise InvalidPaymentMethod(
            "The payment method is not valid. Use a saved card or a test token like pm_card_visa."
        )
    if payment.decline_code == "gateway_unavailable":
        raise GatewayUnavailable("The payment provider did not answer. Please try again shortly.")
    raise PaymentDeclined(
        payment.failure_message or "The card was declined.",
        decline_code=payment.decline_code,
        payment_id=str(payment.id),
    )


# -- capture / void ---------------------------------------------------------------------------
def payment_capture(*, payment_id: uuid.UUID | str, amount_minor: int | None = None, by=None) -> PaymentInfo:
    """Capture an authorized payment, fully or partly (the rest of the hold is released). Idempotent."""
    payment = payment_load(payment_id)
    amount = payment.amount_minor if amount_minor is None else amount_check(amount_minor)
    if payment.status != PaymentStatus.AUTHORIZED:
        if payment.status in (*REFUNDABLE_STATES, PaymentStatus.REFUNDED) and amount == payment.captured_minor:
            return payment_info(payment)  # already captured: a retry
        raise InvalidTransition(f"A {payment.get_status_display().lower()} payment cannot be captured.")
    if amount > payment.amount_minor:
        raise InvalidAmount("Cannot capture more than was authorized.", errors={"amount_minor": ["too_large"]})
    return payment_info(_capture(payment, amount_minor=amount, by=by, as_charge=False))


def _capture(payment: Payment, *, amount_minor: int, by, as_charge: bool) -> Payment:
    gateway = gateways.get_gateway(payment.gateway)
    try:
        gateway_call(
            "capture",
            gateway.capture,
            charge_id=payment.gateway_ref,
            amount_minor=amount_minor,
            idempotency_key=f"capture-{payment.id}",
        )
    except GatewayUnavailable:
        raise
    except GatewayError as exc:
        raise GatewayRefused(exc.message or "The gateway refused the capture.", gateway_code=exc.code) from exc
    with transaction.atomic():
        locked = payment_lock(payment.pk)
        if locked.status != PaymentStatus.AUTHORIZED:
            return locked
        locked.capture(amount_minor=amount_minor)
        locked.save()
        partial = " (partial; the rest of the hold is released)" if amount_minor < locked.amount_minor else ""
        history_record(locked, PaymentStatus.AUTHORIZED, by=by, reason=f"Captured{partial}", amount_minor=amount_minor)
        if as_charge:
            publish(processed_event(locked))
        else:
            publish(
                PaymentCaptured(
                    correlation_id=locked.correlation_id,
                    payment_id=str(locked.id),
                    reference=locked.reference,
                    captured_minor=locked.captured_minor,
                    currency=locked.currency,
                )
            )
    return locked


def payment_void(*, payment_id: uuid.UUID | str, reason: str, by=None) -> PaymentInfo:
    """Release an authorization (no money taken). Idempotent: voiding a voided payment returns it."""
    payment = payment_load(payment_id)
    if payment.status == PaymentStatus.VOIDED:
        return payment_info(payment)
    if payment.status != PaymentStatus.AUTHORIZED:
        raise InvalidTransition(f"A {payment.get_status_display().lower()} payment cannot be voided.")
    gateway = gateways.get_gateway(payment.gateway)
    try:
        gateway_call("void", gateway.void, charge_id=payment.gateway_ref, idempotency_key=f"void-{payment.id}")
    except GatewayUnavailable:
        raise
    except GatewayError as exc:
        raise GatewayRefused(exc.message or "The gateway refused the void.", gateway_code=exc.code) from exc
    with transaction.atomic():
        locked = payment_lock(payment.pk)
        if locked.status != PaymentStatus.AUTHORIZED:
            return payment_info(locked)
        locked.void()
        locked.save()
        history_record(locked, PaymentStatus.AUTHORIZED, by=by, reason=reason or "Voided")
        publish(
            PaymentVoided(
                correlation_id=locked.correlation_id,
                payment_id=str(locked.id),
                reference=locked.reference,
                amount_minor=locked.amount_minor,
                currency=locked.currency,
                reason=reason,
            )
        )
    return payment_info(locked)
