"""Celery tasks of the subscriptions app: thin, each calls one service."""

from __future__ import annotations

from celery import group, shared_task

from subscriptions import services
from subscriptions.billing import billing_batches, billing_bill_batch


@shared_task(acks_late=True)
def bill_due_subscriptions_task() -> int:
    """Beat: find what is due (renewals, trial ends, dunning retries, period-end cancellations) and fan out batches."""
    batches = billing_batches()
    if batches:
        group(bill_subscription_batch_task.s(subscription_ids=batch) for batch in batches).apply_async()
    return len(batches)


@shared_task(acks_late=True)
def bill_subscription_batch_task(subscription_ids: list[int]) -> dict:
    """One batch; safe to run twice (a redelivered task after a worker crash bills nobody twice)."""
    report = billing_bill_batch(subscription_ids=subscription_ids)
    return {"paid": report.paid, "failed": report.failed, "cancelled": report.cancelled, "deferred": report.deferred}


@shared_task(acks_late=True)
def resolve_incomplete_subscriptions_task() -> int:
    """Beat: subscriptions whose first-payment request died half-way are started or expired."""
    return services.subscriptions_incomplete_resolve()
