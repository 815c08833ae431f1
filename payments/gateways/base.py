"""The gateway interface: what FlowMart asks of a card processor, and what it answers.

Every call that can move money takes an ``idempotency_key``: the processor
answers a repeated key with the first answer and moves money only once, so a
caller may retry a timed-out call safely.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# The metadata entry every adapter sets to the authorization's idempotency key (see ``charge_for_key``).
KEY_METADATA = "flowmart_key"
# The metadata entry on every refund FlowMart makes: a refund webhook without it was made elsewhere (a dashboard).
REFUND_METADATA = "flowmart_refund_id"


class GatewayError(Exception):
    """Anything the gateway refused or could not do."""

    code = "gateway_error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        if code:
            self.code = code


class GatewayTransientError(GatewayError):
    """Worth retrying with the same idempotency key (timeouts, 5xx, rate limits)."""


class GatewayTimeout(GatewayTransientError):
    code = "timeout"


class GatewayServerError(GatewayTransientError):
    code = "server_error"


class CardDeclined(GatewayError):
    code = "card_declined"

    def __init__(self, message: str = "", *, decline_code: str = "generic_decline", charge_id: str = "") -> None:
        super().__init__(message or "The card was declined.")
        self.decline_code = decline_code
        self.charge_id = charge_id


class UnknownPaymentMethod(GatewayError):
    code = "invalid_payment_method"


class GatewayRequestRefused(GatewayError):
    """The request itself was wrong (e.g. refund more than captured, idempotency key reused)."""

    code = "request_refused"


class WebhookSignatureError(GatewayError):
    code = "invalid_signature"


def webhook_timestamp_check(signature: str, *, tolerance: int, now: float | None = None) -> None:
    """Refuse a Stripe-style signature (``t=<unix>,v1=...``) dated more than ``tolerance`` seconds ahead.

    Stripe's library refuses only old timestamps; a signature dated in the future would stay replayable
    until that date, so it is refused like the carrier webhook refuses it."""
    stamps = [part[2:] for part in signature.split(",") if part.strip().startswith("t=")]
    try:
        timestamp = int(stamps[0].strip())
    except (IndexError, ValueError):
        return  # no readable timestamp: the signature check itself refuses it
    if timestamp > (time.time() if now is None else now) + tolerance:
        raise WebhookSignatureError("The webhook timestamp is in the future.")


@dataclass(frozen=True)
class GatewayCharge:
    """The gateway's view of one charge (Stripe: a PaymentIntent)."""

    id: str
    status: str  # authorized | captured | voided | failed
    amount_minor: int
    captured_minor: int
    refunded_minor: int
    currency: str
    brand: str = ""
    last4: str = ""
    created_at: datetime | None = None
    # What FlowMart attached when authorizing: ``flowmart_key`` (the idempotency key, set by every adapter),
    # ``payment_id`` and ``reference``. It lets us find a charge whose answer we never received.
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    charge_id: str
    amount_minor: int
    status: str  # succeeded | pending | failed


@dataclass(frozen=True)
class GatewayMovement:
    """One dated movement of money at the gateway (Stripe: a balance transaction), on one of our charges.

    ``kind`` is one of ``PaymentMovement.Kind``; ``amount_minor`` is signed from the merchant's side."""

    id: str
    charge_id: str
    kind: str
    amount_minor: int
    fee_minor: int
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class GatewayDispute:
    id: str
    status: str  # needs_response | under_review | won | lost


@dataclass(frozen=True)
class CardDetails:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class WebhookMessage:
    """A verified webhook: the gateway's event id and type, and the object it is about."""

    event_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)


class Gateway(Protocol):
    name: str
    signature_header: str

    def authorize(
        self,
        *,
        amount_minor: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str] | None = None,
    ) -> GatewayCharge: ...

    def charge_for_key(self, *, idempotency_key: str) -> GatewayCharge | None:
        """The charge an ``authorize`` with this key created (its current state), or None if the gateway has none."""
        ...

    def authorizations_held(self, *, created_before: datetime) -> list[GatewayCharge]:
        """Every charge still holding money (authorized, not captured or voided) created before that time."""
        ...

    def capture(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> GatewayCharge: ...

    def void(self, *, charge_id: str, idempotency_key: str) -> GatewayCharge: ...

    def refund(
        self, *, charge_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str] | None = None
    ) -> GatewayRefund:
        """``metadata`` travels with the refund (and its webhooks): ``flowmart_refund_id`` tells ours apart."""
        ...

    def dispute_submit_evidence(
        self, *, dispute_ref: str, evidence: dict[str, str], idempotency_key: str
    ) -> GatewayDispute:
        """Send our evidence and submit it (no later changes): the bank decides later, by webhook."""
        ...

    def movements(self, *, created_from: datetime, created_to: datetime) -> list[GatewayMovement]:
        """Every money movement (capture, refund, dispute withdrawal / reinstatement) in that period."""
        ...

    def retrieve(self, *, charge_id: str) -> GatewayCharge: ...

    def list_charges(self, *, created_from: datetime, created_to: datetime) -> list[GatewayCharge]: ...

    def card_details(self, *, token: str) -> CardDetails: ...

    def parse_webhook(self, *, payload: bytes, signature: str) -> WebhookMessage: ...
