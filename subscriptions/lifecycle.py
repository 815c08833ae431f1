"""Shared by services.py and billing.py: run a transition and record it, and build event payloads.

Callers own the transaction and hold the row lock.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from flowmart.transitions import transition_apply
from subscriptions import events
from subscriptions.models import Invoice, InvoiceTransition, Subscription, SubscriptionTransition


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def subscription_transition(
    subscription: Subscription, name: str, *, by=None, reason: str = "", at: datetime | None = None, save: bool = True
) -> SubscriptionTransition:
    """Run FSM transition ``name`` (a change that keeps the state is a ``SubscriptionNote``: ``note_add``).

    The caller saves the subscription; ``save=False`` leaves the row unsaved too (for ``bulk_create``)."""
    row = transition_apply(subscription, name, by=by, reason=reason, at=at, save=False)
    if save:
        row.save()
    return row


def invoice_transition(
    invoice: Invoice, name: str, *, by=None, reason: str = "", at: datetime | None = None, save: bool = True
) -> InvoiceTransition:
    """Run FSM transition ``name``; the caller saves the invoice (and the row too when ``save=False``)."""
    row = transition_apply(invoice, name, by=by, reason=reason, at=at, save=False)
    if save:
        row.save()
    return row


def _common(sub: Subscription) -> dict:
    plan = sub.plan
    return {
        "correlation_id": sub.correlation_id,
        "subscription_id": str(sub.public_id),
        "user_id": str(sub.user.public_id),
        "customer_email": sub.user.email,
        "customer_name": sub.user.full_name,
        "plan_code": plan.code,
        "plan_name": plan.name,
        "tier_name": plan.tier.name,
    }


def started_event(sub: Subscription, *, amount_minor: int, invoice: Invoice | None) -> events.UserSubscriptionStarted:
    return events.UserSubscriptionStarted(
        **_common(sub),
        status=sub.status,
        trial_end=iso(sub.trial_end),
        current_period_start=iso(sub.current_period_start),
        current_period_end=iso(sub.current_period_end),
        amount_minor=amount_minor,
        price_minor=sub.plan.price_minor,
        currency=sub.plan.currency,
        interval=sub.plan.interval,
        payment_method_token=sub.payment_method,
        invoice_number=invoice.number if invoice else None,
    )


def cancelled_event(sub: Subscription, *, reason: str, detail: str = "") -> events.UserSubscriptionCancelled:
    return events.UserSubscriptionCancelled(
        **_common(sub), reason=reason, detail=detail, cancelled_at=iso(sub.ended_at or timezone.now())
    )


def cancellation_scheduled_event(sub: Subscription) -> events.SubscriptionCancellationScheduled:
    return events.SubscriptionCancellationScheduled(**_common(sub), ends_at=iso(sub.current_period_end))


def renewed_event(sub: Subscription, *, invoice: Invoice) -> events.SubscriptionRenewed:
    return events.SubscriptionRenewed(
        **_common(sub),
        invoice_number=invoice.number,
        current_period_start=iso(sub.current_period_start),
        current_period_end=iso(sub.current_period_end),
        amount_minor=invoice.amount_minor,
        currency=invoice.currency,
    )


def plan_changed_event(
    sub: Subscription, *, previous_plan_code: str, direction: str, charged_minor: int, credit_minor: int, invoice
) -> events.SubscriptionPlanChanged:
    return events.SubscriptionPlanChanged(
        **_common(sub),
        previous_plan_code=previous_plan_code,
        direction=direction,
        proration_charged_minor=charged_minor,
        proration_credit_minor=credit_minor,
        currency=sub.plan.currency,
        invoice_number=invoice.number if invoice else None,
    )


def paused_event(sub: Subscription) -> events.SubscriptionPaused:
    return events.SubscriptionPaused(**_common(sub), paused_at=iso(sub.paused_at))


def resumed_event(sub: Subscription, *, at: datetime) -> events.SubscriptionResumed:
    return events.SubscriptionResumed(
        **_common(sub), resumed_at=iso(at), current_period_end=iso(sub.current_period_end)
    )


def _invoice_common(invoice: Invoice, sub: Subscription) -> dict:
    return {
        "correlation_id": sub.correlation_id,
        "invoice_number": invoice.number,
        "subscription_id": str(sub.public_id),
        "user_id": str(sub.user.public_id),
        "customer_email": invoice.customer_email,
        "amount_minor": invoice.amount_minor,
        "currency": invoice.currency,
    }


def invoice_paid_event(invoice: Invoice, sub: Subscription) -> events.InvoicePaid:
    return events.InvoicePaid(
        **_invoice_common(invoice, sub),
        period_start=iso(invoice.period_start),
        period_end=iso(invoice.period_end),
        payment_id=str(invoice.payment_id) if invoice.payment_id else None,
        paid_at=iso(invoice.paid_at),
    )


def invoice_failed_event(invoice: Invoice, sub: Subscription, *, final: bool) -> events.InvoicePaymentFailed:
    return events.InvoicePaymentFailed(
        **_invoice_common(invoice, sub),
        attempt=invoice.payment_attempts,
        decline_code=invoice.last_decline_code,
        next_attempt_at=iso(invoice.next_payment_attempt_at),
        final=final,
    )
