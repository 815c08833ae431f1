"""Recurring billing and dunning: the service the beat task runs, one batch of subscriptions at a time.

``billing_bill_batch`` works in three phases so that no database transaction
is open while the gateway is called, and so that the database work is done
once per batch rather than once per subscription:

A. One transaction: lock the batch's subscriptions (``SKIP LOCKED``: a
   concurrent run leaves them to whoever holds them), end those cancelled at
   the period end, and make sure each due one has its period's invoice
   (``open``). The unique constraint (subscription, period_start) makes a
   second invoice for the same period impossible.
B. No transaction: charge each open invoice through ``payments`` with its
   idempotency key ``invoice-<number>-attempt-<n>``. ``n`` only moves on once
   an answer (decline or outage) has been *recorded*, so a re-run after a
   crash re-sends the same key and payments replays the first answer instead
   of charging again.
C. One transaction: record the answers. Paid → invoice ``paid``, the period
   renews (``InvoicePaid``, ``SubscriptionRenewed``). Declined → ``past_due``
   and the next attempt is scheduled ``DUNNING_SCHEDULE_DAYS`` after the first
   failure (``InvoicePaymentFailed``); after the last retry the invoice is
   ``uncollectible`` and the subscription ``cancelled``
   (``UserSubscriptionCancelled``). Gateway unavailable → only the attempt
   number moves on (payments keeps a failed payment under the old key); the
   subscription stays due and the next run retries; it never counts as a decline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from flowmart.events.publisher import publish
from payments import services as payment_services
from subscriptions import charging, lifecycle
from subscriptions.invoice_numbers import invoice_numbers_next
from subscriptions.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTransition,
    Subscription,
    SubscriptionStatus,
    SubscriptionTransition,
)
from subscriptions.periods import period_end
from subscriptions.selectors import subscription_ids_due_for_billing

log = structlog.get_logger(__name__)


def dunning_schedule_days() -> list[int]:
    return list(getattr(settings, "DUNNING_SCHEDULE_DAYS", [1, 3, 7]))


def billing_batch_size() -> int:
    return int(getattr(settings, "BILLING_BATCH_SIZE", 200))


@dataclass
class BillingReport:
    paid: int = 0
    failed: int = 0
    cancelled: int = 0
    deferred: int = 0  # gateway unavailable: retried by the next run
    skipped: int = 0
    invoices_created: int = 0
    invoice_numbers: list[str] = field(default_factory=list)

    def add(self, other: BillingReport) -> BillingReport:
        for name in ("paid", "failed", "cancelled", "deferred", "skipped", "invoices_created"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.invoice_numbers.extend(other.invoice_numbers)
        return self

    @property
    def processed(self) -> int:
        return self.paid + self.failed + self.cancelled + self.deferred


def invoice_build(
    sub: Subscription,
    *,
    number: str,
    reason: str,
    period_start: datetime,
    period_end: datetime,
    items: list[tuple[str, int]],
    now: datetime,
) -> tuple[Invoice, list[InvoiceLine]]:
    """An ``open`` invoice (not saved) for ``items`` [(description, amount_minor)], using account credit first.

    Takes the credit off ``sub.credit_minor`` (the caller saves the subscription).
    """
    subtotal = sum(amount for _, amount in items)
    credit = min(sub.credit_minor, max(subtotal, 0))
    sub.credit_minor -= credit
    invoice = Invoice(
        number=number,
        subscription=sub,
        user_id=sub.user_id,
        billing_reason=reason,
        period_start=period_start,
        period_end=period_end,
        subtotal_minor=subtotal,
        credit_applied_minor=credit,
        amount_minor=max(subtotal - credit, 0),
        currency=sub.plan.currency,
        customer_email=sub.user.email,
        issued_at=now,
    )
    lines = [
        InvoiceLine(
            invoice=invoice, description=desc, amount_minor=amount, period_start=period_start, period_end=period_end
        )
        for desc, amount in items
    ]
    if credit:
        lines.append(InvoiceLine(invoice=invoice, description="Account credit applied", amount_minor=-credit))
    return invoice, lines


def period_line(sub: Subscription, start: datetime, end: datetime) -> tuple[str, int]:
    plan = sub.plan
    return (f"{plan.name} ({plan.get_interval_display().lower()}), {start:%d %b %Y} – {end:%d %b %Y}", plan.price_minor)


@dataclass
class _Job:
    sub_id: int
    invoice_id: int
    number: str
    amount_minor: int
    currency: str
    payment_method: str
    customer_email: str
    user_public_id: str
    correlation_id: str
    attempt: int  # charge attempt: keys the gateway call
    outcome: charging.ChargeOutcome | None = None


def _prepare(ids: list[int], now: datetime, report: BillingReport) -> list[_Job]:
    """Phase A (one transaction)."""
    jobs: list[_Job] = []
    with transaction.atomic():
        subs = list(
            Subscription.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("plan__tier", "user")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        report.skipped += len(set(ids)) - len(subs)
        sub_transitions: list[SubscriptionTransition] = []
        due: list[Subscription] = []
        for sub in subs:
            renewing = sub.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)
            if renewing and sub.current_period_end <= now and sub.cancel_at_period_end:
                sub.ended_at = sub.current_period_end
                sub.cancelled_at = sub.cancelled_at or now
                sub_transitions.append(
                    lifecycle.subscription_transition(
                        sub, "cancel", reason="cancelled at the end of the period", at=now, save=False
                    )
                )
                sub.save(update_fields=["status", "ended_at", "cancelled_at", "updated_at"])
                publish(lifecycle.cancelled_event(sub, reason="period_end"))
                report.cancelled += 1
            elif (renewing and sub.current_period_end <= now) or sub.status == SubscriptionStatus.PAST_DUE:
                due.append(sub)
            else:
                report.skipped += 1

        existing = {
            (inv.subscription_id, inv.period_start): inv
            for inv in Invoice.objects.filter(
                subscription_id__in=[s.pk for s in due],
                period_start__in={s.current_period_end for s in due},
            ).exclude(billing_reason=Invoice.Reason.PLAN_CHANGE)
        }
        to_create = [s for s in due if (s.pk, s.current_period_end) not in existing]
        numbers = iter(invoice_numbers_next(count=len(to_create), issued_at=now))
        new_invoices: list[Invoice] = []
        new_lines: list[InvoiceLine] = []
        credited: list[Subscription] = []
        for sub in to_create:
            start = sub.current_period_end
            end = period_end(start=start, interval=sub.plan.interval, anchor_day=sub.billing_anchor_day)
            credit_before = sub.credit_minor
            invoice, lines = invoice_build(
                sub,
                number=next(numbers),
                reason=Invoice.Reason.CYCLE,
                period_start=start,
                period_end=end,
                items=[period_line(sub, start, end)],
                now=now,
            )
            if sub.credit_minor != credit_before:
                credited.append(sub)
            new_invoices.append(invoice)
            new_lines.extend(lines)
        Invoice.objects.bulk_create(new_invoices)
        for line in new_lines:
            line.invoice_id = line.invoice.pk
        InvoiceLine.objects.bulk_create(new_lines)
        opened = [lifecycle.invoice_transition(inv, "finalize", at=now, save=False) for inv in new_invoices]
        Invoice.objects.bulk_update(new_invoices, ["status"])
        InvoiceTransition.objects.bulk_create(opened)
        if credited:
            Subscription.objects.bulk_update(credited, ["credit_minor"])
        SubscriptionTransition.objects.bulk_create(sub_transitions)
        report.invoices_created += len(new_invoices)
        report.invoice_numbers.extend(inv.number for inv in new_invoices)
        for inv in new_invoices:
            existing[(inv.subscription_id, inv.period_start)] = inv

        for sub in due:
            inv = existing[(sub.pk, sub.current_period_end)]
            if inv.status != InvoiceStatus.OPEN:
                report.skipped += 1
                continue
            if inv.next_payment_attempt_at is not None and inv.next_payment_attempt_at > now:
                report.skipped += 1
                continue
            jobs.append(
                _Job(
                    sub_id=sub.pk,
                    invoice_id=inv.pk,
                    number=inv.number,
                    amount_minor=inv.amount_minor,
                    currency=inv.currency,
                    payment_method=sub.payment_method,
                    customer_email=inv.customer_email,
                    user_public_id=str(sub.user.public_id),
                    correlation_id=sub.correlation_id,
                    attempt=inv.charge_attempts + 1,
                )
            )
    return jobs


def _charge(jobs: Iterable[_Job]) -> None:
    """Phase B: no transaction open."""
    for job in jobs:
        if job.amount_minor == 0:
            job.outcome = charging.ChargeOutcome(charging.SUCCEEDED)
            continue
        job.outcome = charging.charge(
            payment_services.PaymentRequest(
                reference=f"invoice:{job.number}",
                amount_minor=job.amount_minor,
                currency=job.currency,
                payment_method=job.payment_method,
                idempotency_key=f"invoice-{job.number}-attempt-{job.attempt}",
                customer_email=job.customer_email,
                customer_user_id=job.user_public_id,
                correlation_id=job.correlation_id,
            )
        )


def invoice_record_success(
    inv: Invoice, sub: Subscription, *, payment_id: str | None, now: datetime
) -> tuple[InvoiceTransition, SubscriptionTransition | None]:
    """Paid: invoice ``paid``; a period invoice also renews the subscription. Caller saves and publishes."""
    inv.payment_id = payment_id
    inv.paid_at = now
    inv.next_payment_attempt_at = None
    inv_row = lifecycle.invoice_transition(inv, "pay", at=now, save=False)
    sub_row = None
    renews = inv.billing_reason != Invoice.Reason.PLAN_CHANGE and sub.current_period_end == inv.period_start
    if renews and can_proceed(sub.renew):
        sub_row = lifecycle.subscription_transition(
            sub, "renew", reason=f"invoice {inv.number} paid", at=now, save=False
        )
        sub.current_period_start = inv.period_start
        sub.current_period_end = inv.period_end
    return inv_row, sub_row


def _record(jobs: list[_Job], now: datetime, report: BillingReport) -> None:
    """Phase C (one transaction)."""
    answered = [j for j in jobs if j.outcome is not None]
    if not answered:
        return
    schedule = dunning_schedule_days()
    with transaction.atomic():
        subs = {
            s.pk: s
            for s in Subscription.objects.select_for_update(of=("self",))
            .select_related("plan__tier", "user")
            .filter(pk__in=[j.sub_id for j in answered])
            .order_by("pk")  # every batch locks in the same order
        }
        invoices = {
            i.pk: i
            for i in Invoice.objects.select_for_update().filter(pk__in=[j.invoice_id for j in answered]).order_by("pk")
        }
        inv_rows: list[InvoiceTransition] = []
        sub_rows: list[SubscriptionTransition] = []
        changed_subs: list[Subscription] = []
        changed_invs: list[Invoice] = []
        for job in answered:
            sub, inv = subs[job.sub_id], invoices[job.invoice_id]
            if inv.status != InvoiceStatus.OPEN or inv.charge_attempts + 1 != job.attempt:
                report.skipped += 1  # someone else recorded this attempt already
                continue
            changed_invs.append(inv)
            inv.charge_attempts = job.attempt
            if job.outcome.status == charging.UNAVAILABLE:
                # The gateway did not answer (payments recorded a failed payment under this key): the next
                # run retries with the next key, and an outage never counts as a customer's decline.
                report.deferred += 1
                continue
            if job.outcome.succeeded:
                inv_row, sub_row = invoice_record_success(inv, sub, payment_id=job.outcome.payment_id, now=now)
                inv_rows.append(inv_row)
                publish(lifecycle.invoice_paid_event(inv, sub))
                if sub_row is not None:
                    sub_rows.append(sub_row)
                    changed_subs.append(sub)
                    publish(lifecycle.renewed_event(sub, invoice=inv))
                report.paid += 1
                continue

            inv.payment_attempts += 1
            inv.first_failed_at = inv.first_failed_at or now
            inv.last_decline_code = job.outcome.decline_code[:60]
            if inv.payment_attempts <= len(schedule):
                inv.next_payment_attempt_at = inv.first_failed_at + timedelta(days=schedule[inv.payment_attempts - 1])
                if sub.status != SubscriptionStatus.PAST_DUE and can_proceed(sub.mark_past_due):
                    sub_rows.append(
                        lifecycle.subscription_transition(
                            sub,
                            "mark_past_due",
                            reason=f"invoice {inv.number}: {inv.last_decline_code}",
                            at=now,
                            save=False,
                        )
                    )
                    changed_subs.append(sub)
                publish(lifecycle.invoice_failed_event(inv, sub, final=False))
                report.failed += 1
            else:
                inv.next_payment_attempt_at = None
                inv_rows.append(
                    lifecycle.invoice_transition(
                        inv,
                        "mark_uncollectible",
                        reason=f"{inv.payment_attempts} attempts declined",
                        at=now,
                        save=False,
                    )
                )
                publish(lifecycle.invoice_failed_event(inv, sub, final=True))
                report.failed += 1
                if not can_proceed(sub.cancel):
                    continue
                sub.ended_at = now
                sub.cancelled_at = now
                sub.cancellation_reason = "payment_failed"
                sub_rows.append(
                    lifecycle.subscription_transition(
                        sub, "cancel", reason=f"dunning gave up on invoice {inv.number}", at=now, save=False
                    )
                )
                changed_subs.append(sub)
                publish(
                    lifecycle.cancelled_event(
                        sub, reason="payment_failed", detail=f"Invoice {inv.number} could not be collected."
                    )
                )
                report.cancelled += 1
        Invoice.objects.bulk_update(
            changed_invs,
            [
                "status",
                "payment_id",
                "paid_at",
                "payment_attempts",
                "charge_attempts",
                "first_failed_at",
                "last_decline_code",
                "next_payment_attempt_at",
                "updated_at",
            ],
        )
        for sub in changed_subs:
            sub.updated_at = now
        Subscription.objects.bulk_update(
            changed_subs,
            [
                "status",
                "current_period_start",
                "current_period_end",
                "ended_at",
                "cancelled_at",
                "cancellation_reason",
                "updated_at",
            ],
        )
        InvoiceTransition.objects.bulk_create(inv_rows)
        SubscriptionTransition.objects.bulk_create(sub_rows)


def billing_bill_batch(*, subscription_ids: list[int], now: datetime | None = None) -> BillingReport:
    """Bill (or dun, or end) each of these subscriptions if it is due. Safe to run again, or concurrently."""
    now = now or timezone.now()
    report = BillingReport()
    jobs = _prepare(list(subscription_ids), now, report)
    _charge(jobs)
    _record(jobs, now, report)
    log.info(
        "billing batch done",
        size=len(subscription_ids),
        paid=report.paid,
        failed=report.failed,
        cancelled=report.cancelled,
        deferred=report.deferred,
    )
    return report


def billing_batches(*, now: datetime | None = None, batch_size: int | None = None) -> list[list[int]]:
    """The due subscriptions, cut into batches (what the beat task fans out)."""
    ids = subscription_ids_due_for_billing(now=now)
    size = batch_size or billing_batch_size()
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def billing_run(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[BillingReport], None] | None = None,
) -> BillingReport:
    """Everything that is due, batch after batch, in this process (management command, benchmark, tests)."""
    total = BillingReport()
    for batch in billing_batches(now=now, batch_size=batch_size):
        result = billing_bill_batch(subscription_ids=batch, now=now)
        total.add(result)
        if on_batch is not None:
            on_batch(result)
    return total
