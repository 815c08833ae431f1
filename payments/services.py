"""Commands of the payments app: everything that changes its state.

The pattern of every money-moving command (docs/architecture.md §Transactions: no database
transaction is held open across a gateway call):

1. record our intent in a short transaction (a ``pending`` payment, a
   ``processing`` refund) and commit;
2. call the gateway outside any transaction, with an idempotency key derived
   from that record, retrying timeouts and 5xx with back-off (same key: the
   gateway answers the retry with the first answer, money moves once);
3. lock the record, apply the FSM transition, write the history row and
   publish the event, in one short transaction.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from flowmart.errors import Conflict, FlowMartError, InvalidTransition, NotFound
from flowmart.events.publisher import publish
from flowmart.network_calls import assert_no_transaction
from flowmart.transitions import transition_record
from payments.events import (
    ChargebackOpened,
    ChargebackResolved,
    PaymentCaptured,
    PaymentInitiated,
    PaymentProcessed,
    PaymentRefunded,
    PaymentVoided,
    RefundRejected,
)
from payments.gateways import get_gateway
from payments.gateways.base import (
    CardDeclined,
    GatewayError,
    GatewayTransientError,
    UnknownPaymentMethod,
)
from payments.models import (
    REFUNDABLE_STATES,
    Dispute,
    Payment,
    PaymentStatus,
    Refund,
    SavedPaymentMethod,
)
from payments.selectors import (
    PaymentInfo,
    PaymentMethodInfo,
    RefundInfo,
    payment_info,
    payment_method_info,
    payment_methods_for_user,
    refund_info,
)

log = structlog.get_logger(__name__)

FINANCE_GROUP = "Finance"

__all__ = [
    "FINANCE_GROUP",
    "GatewayRefused",
    "GatewayUnavailable",
    "InvalidAmount",
    "InvalidPaymentMethod",
    "PaymentDeclined",
    "PaymentIdempotencyConflict",
    "PaymentInfo",
    "PaymentMethodInfo",
    "PaymentNotFound",
    "RefundApprovalForbidden",
    "RefundExceedsCaptured",
    "RefundInfo",
    "RefundNotFound",
    "RefundNotPending",
    "dispute_close",
    "dispute_open",
    "payment_authorize",
    "payment_capture",
    "payment_charge",
    "payment_method_attach",
    "payment_method_detach",
    "payment_methods_for_user",
    "payment_refund",
    "payment_void",
    "payments_resume_stuck",
    "refund_approve",
    "refund_reject",
]


# -- errors a caller can act on ---------------------------------------------------------------
class PaymentDeclined(FlowMartError):
    code = "payment_declined"
    status = 402
    title = "The payment was declined"

    @property
    def decline_code(self) -> str:
        return str(self.extra.get("decline_code", ""))


class InvalidPaymentMethod(FlowMartError):
    code = "invalid_payment_method"
    status = 400
    title = "Invalid payment method"


class GatewayUnavailable(FlowMartError):
    code = "gateway_unavailable"
    status = 503
    title = "The payment provider is unavailable"


class GatewayRefused(FlowMartError):
    code = "gateway_refused"
    status = 409
    title = "The payment provider refused the request"


class InvalidAmount(FlowMartError):
    code = "invalid_amount"
    status = 400
    title = "Invalid amount"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "No such payment"


class RefundNotFound(NotFound):
    code = "refund_not_found"
    title = "No such refund"


class PaymentIdempotencyConflict(Conflict):
    # Not ``idempotency_key_reused``: that is the API's 422 for a reused Idempotency-Key header.
    code = "payment_idempotency_conflict"
    title = "This idempotency key was used for a different payment"


class RefundExceedsCaptured(Conflict):
    code = "refund_exceeds_captured"
    title = "Refund larger than what is left to refund"


class RefundNotPending(Conflict):
    code = "refund_not_pending"
    title = "This refund is not waiting for approval"


class RefundApprovalForbidden(FlowMartError):
    code = "finance_role_required"
    status = 403
    title = "Only Finance can approve or reject refunds"


# -- small shared steps -----------------------------------------------------------------------
_PAN_LIKE = re.compile(r"\d{12,19}")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _check_payment_method(token: str) -> None:
    """Tokens only: refuse anything that looks like a card number, without echoing or storing it."""
    if not isinstance(token, str) or not token.strip() or len(token) > 100:
        raise InvalidPaymentMethod("A payment method token is required (e.g. pm_card_visa).")
    if _PAN_LIKE.search(re.sub(r"[\s-]", "", token)):
        raise InvalidPaymentMethod(
            "Card numbers are never accepted: tokenize the card with the payment provider and send its token."
        )


def _check_amount(amount_minor: Any, *, field: str = "amount_minor") -> int:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise InvalidAmount(f"{field} must be a positive whole number of minor units.", errors={field: ["positive"]})
    return amount_minor


def correlation_for(reference: str) -> str:
    """``order:FM-7Q2K9D4X`` → ``FM-7Q2K9D4X`` (the order's flow); anything else stays as it is."""
    if reference.startswith("order:"):
        return reference.removeprefix("order:")
    return reference


def _record(payment: Payment, from_state: str, *, by=None, reason: str = "", amount_minor: int | None = None) -> None:
    """The payment's history: a state change already made, or a notable step (same state), and its amount."""
    transition_record(payment, from_state=from_state, by=by, reason=reason, amount_minor=amount_minor)


def _lock(payment_id) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def _get(payment_id) -> Payment:
    try:
        return Payment.objects.get(pk=payment_id)
    except (Payment.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise PaymentNotFound(f"No payment {payment_id}.") from exc


def _call_gateway(operation: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call the gateway, retrying transient failures with exponential back-off and the same idempotency key."""
    assert_no_transaction(f"the payment gateway ({operation})")
    attempts = max(1, settings.PAYMENTS_GATEWAY_MAX_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            return fn(**kwargs)
        except GatewayTransientError as exc:
            log.warning(
                "payment gateway call failed", operation=operation, attempt=attempt, of=attempts, error=exc.code
            )
            if attempt == attempts:
                raise GatewayUnavailable(
                    "The payment provider did not answer. Nothing was charged twice; please try again shortly."
                ) from exc
            time.sleep(settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _processed_event(payment: Payment, *, reason: str = "") -> PaymentProcessed:
    return PaymentProcessed(
        correlation_id=payment.correlation_id,
        payment_id=str(payment.id),
        reference=payment.reference,
        status="failed" if payment.status == PaymentStatus.FAILED else "succeeded",
        payment_status=payment.status,
        amount_minor=payment.amount_minor,
        captured_minor=payment.captured_minor,
        currency=payment.currency,
        brand=payment.brand,
        last4=payment.last4,
        decline_code=payment.decline_code,
        reason=reason or payment.failure_message,
        user_id=str(payment.customer_id) if payment.customer_id else None,
        customer_email=payment.customer_email,
    )


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
    _check_amount(request.amount_minor)
    if not isinstance(request.currency, str) or not _CURRENCY.match(request.currency):
        raise InvalidAmount("currency must be an ISO 4217 code such as USD.", errors={"currency": ["invalid"]})
    if not request.reference or len(request.reference) > 100:
        raise FlowMartError("A payment reference (e.g. order:FM-…) of at most 100 characters is required.")
    if not request.idempotency_key or len(request.idempotency_key) > 255:
        raise FlowMartError("An idempotency key of 1 to 255 characters is required.")
    _check_payment_method(request.payment_method)
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
        payment = _payment_send(payment, publish_success=not capture)
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
                payment = Payment.objects.create(idempotency_key=idempotency_key, gateway=get_gateway().name, **fields)
                _record(payment, "", reason="Payment initiated", amount_minor=payment.amount_minor)
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


def _payment_send(payment: Payment, *, publish_success: bool) -> Payment:
    """Ask the gateway to authorize a pending payment (outside any transaction), then record the answer."""
    gateway = get_gateway(payment.gateway)
    try:
        charge = _call_gateway(
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
        locked = _lock(payment.pk)
        if locked.status != PaymentStatus.PENDING:  # a concurrent retry with the same key recorded it already
            return locked
        locked.authorize(gateway_ref=charge.id, brand=charge.brand, last4=charge.last4)
        locked.save()
        _record(locked, PaymentStatus.PENDING, reason="Authorized by the gateway", amount_minor=locked.amount_minor)
        if publish_success:
            publish(_processed_event(locked))
    log.info("payment authorized", payment_id=str(locked.id), reference=locked.reference, brand=locked.brand)
    return locked


def _payment_fail(payment: Payment, *, decline_code: str, message: str, gateway_ref: str = "") -> Payment:
    with transaction.atomic():
        locked = _lock(payment.pk)
        if locked.status != PaymentStatus.PENDING:
            return locked
        locked.fail(decline_code=decline_code, message=message, gateway_ref=gateway_ref)
        locked.save()
        _record(locked, PaymentStatus.PENDING, reason=f"Failed: {decline_code}")
        publish(_processed_event(locked, reason=message))
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
    payment = _get(payment_id)
    amount = payment.amount_minor if amount_minor is None else _check_amount(amount_minor)
    if payment.status != PaymentStatus.AUTHORIZED:
        if payment.status in (*REFUNDABLE_STATES, PaymentStatus.REFUNDED) and amount == payment.captured_minor:
            return payment_info(payment)  # already captured: a retry
        raise InvalidTransition(f"A {payment.get_status_display().lower()} payment cannot be captured.")
    if amount > payment.amount_minor:
        raise InvalidAmount("Cannot capture more than was authorized.", errors={"amount_minor": ["too_large"]})
    return payment_info(_capture(payment, amount_minor=amount, by=by, as_charge=False))


def _capture(payment: Payment, *, amount_minor: int, by, as_charge: bool) -> Payment:
    gateway = get_gateway(payment.gateway)
    try:
        _call_gateway(
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
        locked = _lock(payment.pk)
        if locked.status != PaymentStatus.AUTHORIZED:
            return locked
        locked.capture(amount_minor=amount_minor)
        locked.save()
        partial = " (partial; the rest of the hold is released)" if amount_minor < locked.amount_minor else ""
        _record(locked, PaymentStatus.AUTHORIZED, by=by, reason=f"Captured{partial}", amount_minor=amount_minor)
        if as_charge:
            publish(_processed_event(locked))
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
    payment = _get(payment_id)
    if payment.status == PaymentStatus.VOIDED:
        return payment_info(payment)
    if payment.status != PaymentStatus.AUTHORIZED:
        raise InvalidTransition(f"A {payment.get_status_display().lower()} payment cannot be voided.")
    gateway = get_gateway(payment.gateway)
    try:
        _call_gateway("void", gateway.void, charge_id=payment.gateway_ref, idempotency_key=f"void-{payment.id}")
    except GatewayUnavailable:
        raise
    except GatewayError as exc:
        raise GatewayRefused(exc.message or "The gateway refused the void.", gateway_code=exc.code) from exc
    with transaction.atomic():
        locked = _lock(payment.pk)
        if locked.status != PaymentStatus.AUTHORIZED:
            return payment_info(locked)
        locked.void()
        locked.save()
        _record(locked, PaymentStatus.AUTHORIZED, by=by, reason=reason or "Voided")
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
    _check_amount(amount_minor)
    if not idempotency_key or len(idempotency_key) > 255:
        raise FlowMartError("An idempotency key of 1 to 255 characters is required.")
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _refund_replay(existing, payment_id=payment_id, amount_minor=amount_minor)
    payment = _get(payment_id)
    try:
        with transaction.atomic():
            locked = _lock(payment.pk)  # serialises refunds of one payment: the total check below is exact
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
            _record(
                locked,
                locked.status,
                by=requested_by,
                reason=f"Refund requested ({note}): {reason}",
                amount_minor=amount_minor,
            )
    except IntegrityError:  # the same idempotency key, concurrently
        return _refund_replay(
            Refund.objects.get(idempotency_key=idempotency_key), payment_id=payment_id, amount_minor=amount_minor
        )
    if needs_approval:
        log.info("refund waiting for approval", refund_id=str(refund.id), amount_minor=amount_minor)
        return refund_info(refund)
    return refund_info(_refund_execute(refund, by=requested_by))


def _refund_replay(refund: Refund, *, payment_id, amount_minor: int) -> RefundInfo:
    if str(refund.payment_id) != str(payment_id) or refund.amount_minor != amount_minor:
        raise PaymentIdempotencyConflict("This idempotency key was already used for a different refund.")
    if refund.status == Refund.Status.PROCESSING:  # an earlier attempt died before recording the answer
        return refund_info(_refund_execute(refund, by=refund.requested_by))
    return refund_info(refund)


def _refund_execute(refund: Refund, *, by) -> Refund:
    payment = refund.payment
    gateway = get_gateway(payment.gateway)
    try:
        answer = _call_gateway(
            "refund",
            gateway.refund,
            charge_id=payment.gateway_ref,
            amount_minor=refund.amount_minor,
            idempotency_key=f"refund-{refund.id}",
        )
    except GatewayError as exc:  # refused: the reserved amount is released
        _refund_failed(refund, message=exc.message or exc.code)
        raise GatewayRefused(exc.message or "The gateway refused the refund.", gateway_code=exc.code) from exc
    except GatewayUnavailable:
        _refund_failed(refund, message="The payment provider did not answer.")
        raise
    with transaction.atomic():
        locked = _lock(payment.pk)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PROCESSING:
            return refund
        refund.status = Refund.Status.SUCCEEDED
        refund.gateway_ref = answer.id
        refund.save(update_fields=["status", "gateway_ref", "updated_at"])
        from_status = locked.status
        if locked.status in REFUNDABLE_STATES:
            locked.refund(amount_minor=refund.amount_minor)
            locked.save()
        _record(locked, from_status, by=by, reason=f"Refunded: {refund.reason}", amount_minor=refund.amount_minor)
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
            )
        )
    log.info("refund succeeded", refund_id=str(refund.id), payment_id=str(locked.id), amount_minor=refund.amount_minor)
    return refund


def _refund_failed(refund: Refund, *, message: str) -> None:
    with transaction.atomic():
        locked = _lock(refund.payment_id)
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PROCESSING).update(
            status=Refund.Status.FAILED, failure_message=message[:255], updated_at=timezone.now()
        )
        _record(locked, locked.status, reason=f"Refund failed: {message}", amount_minor=refund.amount_minor)
    log.warning("refund failed", refund_id=str(refund.id), error=message)


def _require_finance(user) -> None:
    if user is None or not user.is_authenticated or not user.groups.filter(name=FINANCE_GROUP).exists():
        raise RefundApprovalForbidden("Only members of the Finance group can decide on refunds.")


def _decide(refund_id, *, by, approve: bool, note: str) -> Refund:
    _require_finance(by)
    with transaction.atomic():
        try:
            refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        except (Refund.DoesNotExist, ValidationError, ValueError) as exc:
            raise RefundNotFound(f"No refund {refund_id}.") from exc
        if refund.status != Refund.Status.PENDING_APPROVAL:
            raise RefundNotPending(f"This refund is {refund.get_status_display().lower()}.")
        payment = _lock(refund.payment_id)
        refund.status = Refund.Status.PROCESSING if approve else Refund.Status.REJECTED
        refund.decided_by = by
        refund.decided_at = timezone.now()
        refund.decision_note = note[:255]
        refund.save()
        verdict = "approved" if approve else "rejected"
        _record(
            payment,
            payment.status,
            by=by,
            reason=f"Refund {verdict} by Finance{': ' + note if note else ''}",
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
    return refund_info(_refund_execute(refund, by=by))


def refund_reject(*, refund_id: uuid.UUID | str, by, note: str = "") -> RefundInfo:
    """A Finance member rejects a waiting refund; its amount becomes refundable again."""
    return refund_info(_decide(refund_id, by=by, approve=False, note=note))


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
        from_status = payment.status
        if payment.status in REFUNDABLE_STATES:
            payment.open_dispute()
            payment.save()
        _record(payment, from_status, reason=f"Chargeback opened: {reason}", amount_minor=amount_minor)
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
        payment = _lock(dispute.payment_id)
        dispute.status = Dispute.Status.WON if won else Dispute.Status.LOST
        dispute.resolved_at = timezone.now()
        dispute.save(update_fields=["status", "resolved_at"])
        from_status = payment.status
        if payment.status == PaymentStatus.DISPUTED:
            payment.win_dispute() if won else payment.lose_dispute()
            payment.save()
        _record(payment, from_status, reason=f"Chargeback {dispute.status}", amount_minor=dispute.amount_minor)
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


# -- saved payment methods --------------------------------------------------------------------
def payment_method_attach(*, user_id: str | uuid.UUID, token: str) -> PaymentMethodInfo:
    """Save a gateway token for a customer with its display data (brand, last 4, expiry). Idempotent per token."""
    _check_payment_method(token)
    try:
        owner = uuid.UUID(str(user_id))
    except ValueError as exc:
        raise FlowMartError("user_id must be the user's public id (a UUID).") from exc
    gateway = get_gateway()
    try:
        card = _call_gateway("card_details", gateway.card_details, token=token)
    except UnknownPaymentMethod as exc:
        raise InvalidPaymentMethod("The payment provider does not know this payment method.") from exc
    except GatewayError as exc:
        raise InvalidPaymentMethod(exc.message or "The payment method could not be saved.") from exc
    method, _ = SavedPaymentMethod.objects.get_or_create(
        user_id=owner,
        token=card.token,
        defaults={
            "gateway": gateway.name,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        },
    )
    return payment_method_info(method)


def payment_method_detach(*, user_id: str | uuid.UUID, method_id: uuid.UUID | str) -> None:
    """Forget a saved card of this customer (no-op if it is not theirs or already gone)."""
    try:
        SavedPaymentMethod.objects.filter(user_id=uuid.UUID(str(user_id)), pk=uuid.UUID(str(method_id))).delete()
    except ValueError:
        return


# -- recovery -----------------------------------------------------------------------------------
def payments_resume_stuck(*, older_than_minutes: int = 10) -> int:
    """Finish what a crash interrupted: payments still ``pending`` and refunds still ``processing``.

    The gateway is asked again with the same idempotency key, so it answers with
    what it did the first time (money never moves twice); the answer is then
    recorded and published as usual. Returns how many were resumed.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    resumed = 0
    for payment in Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lt=cutoff):
        _payment_send(payment, publish_success=True)
        resumed += 1
    for refund in Refund.objects.filter(status=Refund.Status.PROCESSING, updated_at__lt=cutoff).select_related(
        "payment"
    ):
        try:
            _refund_execute(refund, by=None)
        except (GatewayUnavailable, GatewayRefused):
            log.warning("stuck refund could not be completed", refund_id=str(refund.id))
        resumed += 1
    return resumed
