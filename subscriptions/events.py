"""Events the subscriptions app publishes.

Correlation id of every event: ``sub:<subscription public_id>``. Every payload
carries ``subscription_id`` (the public UUID as a string), ``user_id``
(``User.public_id`` as a string) and ``customer_email`` so that consumers
(notifications, orders, payments) never need to read this app's tables.
Times are ISO 8601 strings in UTC; money is ``*_minor`` + ``currency``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class _SubscriptionEvent(Event):
    """Common payload of the subscription events."""

    producer = "subscriptions"

    subscription_id: str
    user_id: str
    customer_email: str
    customer_name: str = ""
    plan_code: str
    plan_name: str
    tier_name: str


@dataclass(frozen=True, kw_only=True)
class UserSubscriptionStarted(_SubscriptionEvent):
    """A customer subscribed: either a trial started or the first period was paid."""

    name = "UserSubscriptionStarted"

    status: str  # "trialing" | "active"
    trial_end: str | None
    current_period_start: str
    current_period_end: str
    amount_minor: int  # charged now (0 for a trial)
    price_minor: int  # plan price per interval
    currency: str
    interval: str
    payment_method_token: str
    invoice_number: str | None = None


@dataclass(frozen=True, kw_only=True)
class UserSubscriptionCancelled(_SubscriptionEvent):
    """The subscription ended: perks stop now.

    ``reason``: "customer" (cancelled now), "period_end" (cancelled at the end of
    the period), "payment_failed" (dunning gave up) or "staff".
    """

    name = "UserSubscriptionCancelled"

    reason: str
    detail: str = ""
    cancelled_at: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionCancellationScheduled(_SubscriptionEvent):
    """The customer asked to cancel at the end of the paid period; perks continue until then."""

    name = "SubscriptionCancellationScheduled"

    ends_at: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionRenewed(_SubscriptionEvent):
    """A period's invoice was paid and the next period started."""

    name = "SubscriptionRenewed"

    invoice_number: str
    current_period_start: str
    current_period_end: str
    amount_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionPlanChanged(_SubscriptionEvent):
    """Upgrade or downgrade; ``plan_*``/``tier_name`` are the new plan's."""

    name = "SubscriptionPlanChanged"

    previous_plan_code: str
    direction: str  # "upgrade" | "downgrade" | "lateral"
    proration_charged_minor: int
    proration_credit_minor: int
    currency: str
    invoice_number: str | None = None


@dataclass(frozen=True, kw_only=True)
class SubscriptionPaused(_SubscriptionEvent):
    """Billing and perks stop until the customer resumes; the paused time is not charged."""

    name = "SubscriptionPaused"

    paused_at: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionResumed(_SubscriptionEvent):
    """Perks are back; the period end moved back by the paused time."""

    name = "SubscriptionResumed"

    resumed_at: str
    current_period_end: str


@dataclass(frozen=True, kw_only=True)
class _InvoiceEvent(Event):
    """Common payload of the invoice events."""

    producer = "subscriptions"

    invoice_number: str
    subscription_id: str
    user_id: str
    customer_email: str
    amount_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class InvoicePaid(_InvoiceEvent):
    """An invoice (first period, renewal or plan change) was paid."""

    name = "InvoicePaid"

    period_start: str
    period_end: str
    payment_id: str | None
    paid_at: str


@dataclass(frozen=True, kw_only=True)
class InvoicePaymentFailed(_InvoiceEvent):
    """A charge for an invoice was declined. ``next_attempt_at`` is None when dunning gave up (``final``)."""

    name = "InvoicePaymentFailed"

    attempt: int
    decline_code: str
    next_attempt_at: str | None
    final: bool
