"""Authorize, charge, capture and void (see ``payments.services`` for the pattern every command follows)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowmart.errors import FlowMartError, InvalidTransition
from flowmart.events.publisher import publish
from flowmart.notes import note_add
from payments import gateways
from payments.errors import (
    GatewayRefused,
    GatewayUnavailable,
    InvalidAmount,
    InvalidPaymentMethod,
    PaymentAbandoned,
    PaymentDeclined,
    PaymentIdempotencyConflict,
)
from payments.events import (
    PaymentAuthorizationExpired,
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
    PaymentMovement,
    PaymentNote,
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
    movement_record,
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
    if payment.status == PaymentStatus.FAILED or payment.abandoned_at is not None:
        _raise_failure(payment)
    if capture and payment.status == PaymentStatus.AUTHORIZED:
        payment = _capture(payment, amount_minor=payment.amount_minor, by=None, as_charge=True)
    return payment_info(payment)


def _payment_open(*, idempotency_key: str, **fields: Any) -> Payment:
    """The payment for this idempotency key: created (pending, PaymentInitiated) if new.

    A key is almost always new, so the insert comes first: the unique key tells when it is not (a re-run, or a
    concurrent call that won the race), and only then is the payment read."""
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
    except IntegrityError:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:  # not the key: some other constraint
            raise
    same = (
        existing.reference == fields["reference"]
        and existing.amount_minor == fields["amount_minor"]
        and existing.currency == fields["currency"]
        and existing.payment_method == fields["payment_method"]
    )
    if not same:
        raise PaymentIdempotencyConflict("This idempotency key was already used for a different payment.")
    return existing


def authorize_key(payment: Payment) -> str:
    """The gateway idempotency key of a payment's authorization (also what ``charge_for_key`` finds it by)."""
    return f"authorize-{payment.id}"


def payment_send(payment: Payment, *, publish_success: bool) -> Payment:
    """Ask the gateway to authorize a pending payment (outside any transaction), then record the answer.

    A payment nobody waits for any more (``abandoned_at``) is never authorized: it is settled instead. When
    every attempt failed without an answer (a timeout may hide work the gateway did), the gateway is asked by
    key before the payment is failed, so a hold it made is recorded rather than left behind.
    """
    if payment.abandoned_at is not None:
        return _abandoned_settle(payment)
    gateway = gateways.get_gateway(payment.gateway)
    try:
        charge = gateway_call(
            "authorize",
            gateway.authorize,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=authorize_key(payment),
            description=payment.reference,
            metadata={"payment_id": str(payment.id), "reference": payment.reference},
        )
    except CardDeclined as exc:
        return _payment_fail(payment, decline_code=exc.decline_code, message=exc.message, gateway_ref=exc.charge_id)
    except UnknownPaymentMethod:
        return _payment_fail(payment, decline_code="invalid_payment_method", message="The payment method is not valid.")
    except GatewayUnavailable:
        try:
            charge = _charge_find(payment)
        except _LookupFailed:
            charge = None
        if charge is None or charge.status != "authorized":
            # Nothing held that we can see. Should the gateway still hold something (its search lagging, or it
            # was unreachable for the lookup too), the stray-authorization sweep voids it: a failed payment
            # explains no hold.
            return _payment_fail(
                payment, decline_code="gateway_unavailable", message="The payment provider did not answer."
            )
        log.warning("authorization found by key after the answer was lost", payment_id=str(payment.id))
    except GatewayError as exc:
        return _payment_fail(payment, decline_code=exc.code, message=exc.message or "Refused by the gateway.")

    with transaction.atomic():
        locked = payment_lock(payment.pk)
        abandoned = locked.abandoned_at is not None
        if not abandoned:
            if locked.status != PaymentStatus.PENDING:  # a concurrent retry with the same key recorded it already
                return locked
            locked.authorize(gateway_ref=charge.id, brand=charge.brand, last4=charge.last4)
            locked.save()
            history_record(
                locked, PaymentStatus.PENDING, reason="Authorized by the gateway", amount_minor=locked.amount_minor
            )
            if publish_success:
                publish(processed_event(locked))
    if abandoned:  # abandoned while the gateway was working: its hold is released, not recorded as ours
        return _abandoned_settle(locked, charge=charge)
    log.info("payment authorized", payment_id=str(locked.id), reference=locked.reference, brand=locked.brand)
    return locked


def _charge_find(payment: Payment):
    """The gateway's charge for this payment's authorization key, or None (also when the gateway cannot say)."""
    gateway = gateways.get_gateway(payment.gateway)
    try:
        return gateway_call("find by key", gateway.charge_for_key, idempotency_key=authorize_key(payment))
    except (GatewayError, GatewayUnavailable) as exc:
        log.warning("gateway could not be asked by key", payment_id=str(payment.id), error=str(exc))
        raise _LookupFailed from exc


class _LookupFailed(Exception):
    """The gateway could not be asked whether it holds anything for a payment."""


# -- re-authorize -------------------------------------------------------------------------------
def payment_reauthorize(*, payment_id: uuid.UUID | str, idempotency_key: str, by=None) -> PaymentInfo:
    """Renew an authorization before the gateway lets it lapse (``PAYMENTS_AUTHORIZATION_VALID_DAYS``): a new
    authorization of the same amount, reference and payment method under ``idempotency_key``, then the old one
    is voided. Returns the new payment. Safe to repeat with the same key (after a crash between the two calls
    the old one is voided then). Raises what ``payment_authorize`` raises (402 ``payment_declined`` …); the old
    authorization is left as it was then.
    """
    old = payment_load(payment_id)
    renewed = Payment.objects.filter(idempotency_key=idempotency_key).exists()
    if old.status != PaymentStatus.AUTHORIZED and not renewed:
        raise InvalidTransition(f"A {old.get_status_display().lower()} payment cannot be re-authorized.")
    new = payment_authorize(
        PaymentRequest(
            reference=old.reference,
            amount_minor=old.amount_minor,
            currency=old.currency,
            payment_method=old.payment_method,
            idempotency_key=idempotency_key,
            customer_email=old.customer_email,
            customer_user_id=old.customer_id,
            correlation_id=old.correlation_id,
        )
    )
    if Payment.objects.get(pk=old.pk).status == PaymentStatus.AUTHORIZED:
        try:
            payment_void(payment_id=old.id, reason=f"re-authorized as {new.id}", by=by)
        except GatewayRefused as exc:  # the gateway dropped it already: nothing is held
            log.warning("old authorization not voided", payment_id=str(old.id), error=exc.detail)
    return new


# -- abandon ------------------------------------------------------------------------------------
def payment_abandon(*, payment_id: uuid.UUID | str, reason: str, by=None) -> PaymentInfo:
    """Nobody waits for this payment any more (its order was cancelled or failed): make sure it holds nothing.

    * ``authorized``: voided (``payment_void``).
    * ``pending`` (a crash between opening it and recording the gateway's answer, or an answer still on its
      way): marked abandoned first, in its own transaction, so nothing authorizes it from now on (the resume
      sweep, a late answer); then the gateway is asked by the same idempotency key and a hold it made is
      voided, else the payment is failed (``decline_code="abandoned"``). If the gateway cannot be reached the
      payment stays pending and abandoned; ``payments_resume_stuck`` settles it later the same way.
    * anything else (failed, voided, captured, refunded): returned as it is.
    """
    payment = payment_load(payment_id)
    if payment.status == PaymentStatus.AUTHORIZED:
        return payment_void(payment_id=payment.id, reason=reason or "Abandoned", by=by)
    if payment.status != PaymentStatus.PENDING:
        return payment_info(payment)
    with transaction.atomic():
        locked = payment_lock(payment.pk)
        if locked.status == PaymentStatus.PENDING and locked.abandoned_at is None:
            locked.abandoned_at = timezone.now()
            locked.save(update_fields=["abandoned_at", "updated_at"])
            note_add(locked, kind=PaymentNote.Kind.ABANDONED, by=by, text=reason[:255])
    if locked.status == PaymentStatus.AUTHORIZED:  # the answer was recorded just before we locked
        return payment_void(payment_id=locked.id, reason=reason or "Abandoned", by=by)
    return payment_info(_abandoned_settle(locked))


def _abandoned_settle(payment: Payment, *, charge=None) -> Payment:
    """Release what the gateway holds for an abandoned payment and record the outcome. Safe to repeat."""
    if charge is None:
        try:
            charge = _charge_find(payment)
        except _LookupFailed:
            return payment  # still pending and abandoned: the resume sweep asks again
    gateway = gateways.get_gateway(payment.gateway)
    if charge is not None and charge.status == "authorized":
        try:
            gateway_call("void", gateway.void, charge_id=charge.id, idempotency_key=f"void-{payment.id}")
        except (GatewayError, GatewayUnavailable) as exc:
            log.warning("hold of an abandoned payment not voided yet", payment_id=str(payment.id), error=str(exc))
            return Payment.objects.get(pk=payment.pk)
    with transaction.atomic():
        locked = payment_lock(payment.pk)
        held = charge is not None and charge.status == "authorized"
        if locked.status == PaymentStatus.PENDING and held:
            locked.authorize(gateway_ref=charge.id, brand=charge.brand, last4=charge.last4)
            history_record(
                locked,
                PaymentStatus.PENDING,
                reason="Authorized by the gateway after it was abandoned",
                amount_minor=locked.amount_minor,
            )
            locked.void()
            locked.save()
            history_record(locked, PaymentStatus.AUTHORIZED, reason="Voided: abandoned")
            publish(_voided_event(locked, reason="abandoned"))
        elif locked.status == PaymentStatus.PENDING:
            locked.fail(
                decline_code="abandoned",
                message="Abandoned before the gateway authorized it.",
                gateway_ref=charge.id if charge is not None else "",
            )
            locked.save()
            history_record(locked, PaymentStatus.PENDING, reason="Failed: abandoned, nothing held at the gateway")
            publish(processed_event(locked))
        elif held:  # failed as abandoned while this late authorization was on its way: released above
            note_add(
                locked,
                kind=PaymentNote.Kind.LATE_AUTHORIZATION_VOIDED,
                text=f"{charge.id} arrived after the payment was abandoned",
                amount_minor=charge.amount_minor,
            )
    log.info("abandoned payment settled", payment_id=str(locked.id), status=locked.status)
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
    if payment.abandoned_at is not None:
        raise PaymentAbandoned("This payment was abandoned; nothing it held stays on the card.")
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
        movement_record(locked, kind=PaymentMovement.Kind.CAPTURE, amount_minor=amount_minor)
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
        publish(_voided_event(locked, reason=reason))
    return payment_info(locked)


def payment_authorization_expired(*, gateway: str, charge_id: str) -> Payment | None:
    """The gateway says it dropped an authorization nobody captured (webhook). An authorized payment becomes
    ``expired`` and ``PaymentAuthorizationExpired`` tells its payer; any other state stays (already captured,
    voided, or expired: a redelivery). Returns the payment if it changed now. Caller's transaction."""
    payment = Payment.objects.select_for_update().filter(gateway=gateway, gateway_ref=charge_id).first()
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        return None
    payment.expire()
    payment.save()
    history_record(payment, PaymentStatus.AUTHORIZED, reason="Authorization expired at the gateway")
    publish(
        PaymentAuthorizationExpired(
            correlation_id=payment.correlation_id,
            payment_id=str(payment.id),
            reference=payment.reference,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
        )
    )
    log.warning("authorization expired at the gateway", payment_id=str(payment.id), reference=payment.reference)
    return payment


def _voided_event(payment: Payment, *, reason: str) -> PaymentVoided:
    return PaymentVoided(
        correlation_id=payment.correlation_id,
        payment_id=str(payment.id),
        reference=payment.reference,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reason=reason,
    )
