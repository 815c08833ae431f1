"""The small steps every payments command shares: input checks, the payment's history, locking, and the
one way the gateway is called (retries with back-off, never inside a transaction)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError

from flowmart.network_calls import assert_no_transaction
from flowmart.transitions import transition_record
from payments.errors import GatewayUnavailable, InvalidAmount, InvalidPaymentMethod, PaymentNotFound
from payments.events import (
    PaymentProcessed,
)
from payments.gateways.base import (
    GatewayTransientError,
)
from payments.models import (
    Payment,
    PaymentMovement,
    PaymentStatus,
)

log = structlog.get_logger(__name__)

# -- small shared steps -----------------------------------------------------------------------
PAN_LIKE = re.compile(r"\d{12,19}")
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


def payment_method_check(token: str) -> None:
    """Tokens only: refuse anything that looks like a card number, without echoing or storing it."""
    if not isinstance(token, str) or not token.strip() or len(token) > 100:
        raise InvalidPaymentMethod("A payment method token is required (e.g. pm_card_visa).")
    if PAN_LIKE.search(re.sub(r"[\s-]", "", token)):
        raise InvalidPaymentMethod(
            "Card numbers are never accepted: tokenize the card with the payment provider and send its token."
        )


def amount_check(amount_minor: Any, *, field: str = "amount_minor") -> int:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise InvalidAmount(f"{field} must be a positive whole number of minor units.", errors={field: ["positive"]})
    return amount_minor


def correlation_for(reference: str) -> str:
    """``order:FM-7Q2K9D4X`` → ``FM-7Q2K9D4X`` (the order's flow); anything else stays as it is."""
    if reference.startswith("order:"):
        return reference.removeprefix("order:")
    return reference


def history_record(
    payment: Payment, from_state: str, *, by=None, reason: str = "", amount_minor: int | None = None
) -> None:
    """Log a state change already made to ``payment``, and its amount (a step that leaves the state as it
    is is a ``PaymentNote``: ``flowmart.notes.note_add``)."""
    transition_record(payment, from_state=from_state, by=by, reason=reason, amount_minor=amount_minor)


def movement_record(
    payment: Payment, *, kind: str, amount_minor: int, fee_minor: int = 0, source_ref: str = ""
) -> PaymentMovement:
    """Date one movement of money on the payment (reconciliation compares them by day). In the transaction of
    the change it belongs to; ``amount_minor`` signed from our side (refund, withdrawal: negative)."""
    return PaymentMovement.objects.create(
        payment=payment,
        kind=kind,
        amount_minor=amount_minor,
        fee_minor=fee_minor,
        currency=payment.currency,
        source_ref=source_ref,
    )


def payment_lock(payment_id) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def payment_load(payment_id) -> Payment:
    try:
        return Payment.objects.get(pk=payment_id)
    except (Payment.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise PaymentNotFound(f"No payment {payment_id}.") from exc


def gateway_call(operation: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
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


def processed_event(payment: Payment, *, reason: str = "") -> PaymentProcessed:
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
