"""Events the payments app publishes.

Correlation id: derived from the payment's reference (``order:FM-7Q2K9D4X`` →
``FM-7Q2K9D4X``; any other reference, e.g. ``invoice:INV-1``, is used as is)
unless the caller passed its own ``correlation_id`` (subscriptions: ``sub:<uuid>``).
Payloads carry no card data beyond brand and last 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class PaymentInitiated(Event):
    """A payment was recorded (pending) and is about to be sent to the gateway."""

    name = "PaymentInitiated"
    producer = "payments"

    payment_id: str
    reference: str
    amount_minor: int
    currency: str
    user_id: str | None
    customer_email: str


@dataclass(frozen=True, kw_only=True)
class PaymentProcessed(Event):
    """The gateway answered: ``status`` "succeeded" (authorized, or captured for a charge) or "failed".

    ``payment_status`` is the payment's state afterwards (authorized | captured | failed);
    on failure ``decline_code`` (insufficient_funds, expired_card, generic_decline,
    invalid_payment_method, gateway_unavailable) and a readable ``reason``.
    """

    name = "PaymentProcessed"
    producer = "payments"

    payment_id: str
    reference: str
    status: str
    payment_status: str
    amount_minor: int
    captured_minor: int
    currency: str
    brand: str
    last4: str
    decline_code: str
    reason: str
    user_id: str | None
    customer_email: str


@dataclass(frozen=True, kw_only=True)
class PaymentCaptured(Event):
    """An authorized payment was captured (fully or partly) after the fact."""

    name = "PaymentCaptured"
    producer = "payments"

    payment_id: str
    reference: str
    captured_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class PaymentVoided(Event):
    """An authorization was released; no money was taken."""

    name = "PaymentVoided"
    producer = "payments"

    payment_id: str
    reference: str
    amount_minor: int
    currency: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(Event):
    """Money went back to the customer. ``refunded_total_minor`` is the running total on the payment."""

    name = "PaymentRefunded"
    producer = "payments"

    payment_id: str
    refund_id: str
    reference: str
    amount_minor: int
    refunded_total_minor: int
    currency: str
    reason: str
    fully_refunded: bool
    user_id: str | None
    customer_email: str
    # "flowmart" (a refund FlowMart asked for) or "gateway" (made in the gateway's dashboard, learnt by webhook).
    origin: str = "flowmart"


@dataclass(frozen=True, kw_only=True)
class RefundRejected(Event):
    """Finance rejected a refund that was waiting for approval."""

    name = "RefundRejected"
    producer = "payments"

    payment_id: str
    refund_id: str
    reference: str
    amount_minor: int
    currency: str
    note: str


@dataclass(frozen=True, kw_only=True)
class ChargebackOpened(Event):
    """The cardholder's bank disputed a captured payment."""

    name = "ChargebackOpened"
    producer = "payments"

    payment_id: str
    dispute_id: str
    reference: str
    amount_minor: int
    currency: str
    reason: str
    fee_minor: int = 0  # the gateway's dispute fee, withdrawn with the amount


@dataclass(frozen=True, kw_only=True)
class ChargebackResolved(Event):
    """A dispute closed: ``outcome`` "won" (we keep the money) or "lost" (it went back to the cardholder).

    ``loss_minor`` is what the dispute took for good (the disputed amount when lost, else 0) and ``fee_minor``
    the gateway's fee still charged (given back with a win by most gateways)."""

    name = "ChargebackResolved"
    producer = "payments"

    payment_id: str
    dispute_id: str
    reference: str
    outcome: str
    amount_minor: int
    currency: str
    loss_minor: int = 0
    fee_minor: int = 0


@dataclass(frozen=True, kw_only=True)
class DisputeEvidenceSubmitted(Event):
    """Staff sent our evidence for a dispute to the gateway; the bank decides later."""

    name = "DisputeEvidenceSubmitted"
    producer = "payments"

    payment_id: str
    dispute_id: str
    reference: str
    submitted_by: str


@dataclass(frozen=True, kw_only=True)
class PaymentAuthorizationExpired(Event):
    """The gateway dropped an authorization nobody captured in time (Stripe: about seven days): no money can
    be captured on it any more."""

    name = "PaymentAuthorizationExpired"
    producer = "payments"

    payment_id: str
    reference: str
    amount_minor: int
    currency: str
