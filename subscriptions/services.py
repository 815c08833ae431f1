"""Commands of the subscriptions app: everything that changes its state.

Each public service owns its transaction, locks what it changes, changes it
through the FSM transition, records the transition and publishes the event in
that same transaction. Charges go through ``charging.charge`` between two
transactions, never inside one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from flowmart.errors import Conflict, FlowMartError, InvalidTransition, NotFound
from flowmart.events.publisher import publish
from flowmart.notes import note_add
from flowmart.transitions import transition_record
from payments import services as payment_services
from payments.selectors import payments_for_reference
from subscriptions import charging, lifecycle
from subscriptions.billing import invoice_build, invoice_record_success, period_line
from subscriptions.invoice_numbers import invoice_numbers_next
from subscriptions.models import (
    LIVE_STATUSES,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionNote,
    SubscriptionStatus,
)
from subscriptions.periods import period_end
from subscriptions.proration import Proration, prorate


class PlanNotAvailable(FlowMartError):
    code = "plan_not_available"
    status = 400
    title = "That plan cannot be chosen"


class AlreadySubscribed(Conflict):
    code = "already_subscribed"
    title = "You already have a membership"


class SamePlan(FlowMartError):
    code = "same_plan"
    status = 400
    title = "You are already on that plan"


class PlanCurrencyMismatch(FlowMartError):
    code = "plan_currency_mismatch"
    status = 400
    title = "Plans in different currencies cannot be swapped"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title = "No such membership"


class ChargeFailed(FlowMartError):
    """The gateway declined or could not be reached; carries the payments error's code and status."""

    code = "payment_declined"
    status = 402
    title = "The payment was declined"


def _raise_charge_error(outcome: charging.ChargeOutcome) -> None:
    if outcome.error is not None:
        raise outcome.error
    raise ChargeFailed(
        f"The payment was declined ({outcome.decline_code}).", decline_code=outcome.decline_code or "declined"
    )


def _plan(plan: Plan | str) -> Plan:
    if isinstance(plan, Plan):
        found = Plan.objects.select_related("tier").filter(pk=plan.pk, is_active=True).first()
    else:
        found = Plan.objects.select_related("tier").filter(code=plan, is_active=True).first()
    if found is None:
        raise PlanNotAvailable("That plan does not exist or is no longer offered.")
    return found


def _locked(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan__tier", "user")
        .get(pk=subscription.pk)
    )


def _require(sub: Subscription, transition_name: str, message: str) -> None:
    if not can_proceed(getattr(sub, transition_name)):
        raise InvalidTransition(message, current_status=sub.status)


def _payment_method_label(info) -> str:
    brand, last4 = getattr(info, "brand", ""), getattr(info, "last4", "")
    return f"{brand} •••• {last4}" if brand and last4 else ""


def _record_success(invoice: Invoice, sub: Subscription, *, payment_id, now) -> bool:
    """Mark the invoice paid (saved, with its transition row); True if that renewed the subscription (unsaved)."""
    inv_row, sub_row = invoice_record_success(invoice, sub, payment_id=payment_id, now=now)
    invoice.save()
    inv_row.save()
    if sub_row is not None:
        sub_row.save()
    return sub_row is not None


# --- subscribe ---------------------------------------------------------------
def subscription_subscribe(*, user, plan: Plan | str, payment_method: str, by=None) -> Subscription:
    """Start a membership: a trial when the plan has one and the customer never had one, else charge now.

    Raises PlanNotAvailable, AlreadySubscribed, and the payments errors
    (InvalidPaymentMethod 400, PaymentDeclined 402, GatewayUnavailable 503).
    A declined first charge leaves an ``expired`` subscription and a ``void`` invoice behind.
    """
    plan = _plan(plan)
    if Subscription.objects.filter(user=user, status__in=LIVE_STATUSES).exists():
        raise AlreadySubscribed("You already have a membership; change its plan instead.")
    method = payment_services.payment_method_attach(user_id=str(user.public_id), token=payment_method)
    token = getattr(method, "token", None) or payment_method
    now = timezone.now()
    had_trial = Subscription.objects.filter(user=user, trial_end__isnull=False).exists()
    trial = plan.trial_days > 0 and not had_trial

    try:
        with transaction.atomic():
            if trial:
                end = now + timedelta(days=plan.trial_days)
                sub = Subscription.objects.create(
                    user=user,
                    plan=plan,
                    status=SubscriptionStatus.TRIALING,
                    current_period_start=now,
                    current_period_end=end,
                    billing_anchor_day=end.day,
                    trial_end=end,
                    payment_method=token,
                    payment_method_label=_payment_method_label(method),
                )
                transition_record(
                    sub,
                    transition="start_trial",
                    from_state="",
                    by=by or user,
                    reason=f"{plan.trial_days}-day trial",
                    at=now,
                )
                publish(lifecycle.started_event(sub, amount_minor=0, invoice=None))
                return sub
            sub = Subscription.objects.create(
                user=user,
                plan=plan,
                status=SubscriptionStatus.INCOMPLETE,
                current_period_start=now,
                current_period_end=now,
                billing_anchor_day=now.day,
                payment_method=token,
                payment_method_label=_payment_method_label(method),
            )
            transition_record(sub, transition="create", from_state="", by=by or user, at=now)
            end = period_end(start=now, interval=plan.interval, anchor_day=now.day)
            invoice, lines = invoice_build(
                sub,
                number=invoice_numbers_next(issued_at=now)[0],
                reason=Invoice.Reason.CREATE,
                period_start=now,
                period_end=end,
                items=[period_line(sub, now, end)],
                now=now,
            )
            invoice.save()
            InvoiceLine.objects.bulk_create(lines)
            lifecycle.invoice_transition(invoice, "finalize", at=now)
            invoice.save(update_fields=["status"])
    except IntegrityError as exc:  # a concurrent subscribe of the same customer won the race
        raise AlreadySubscribed("You already have a membership; change its plan instead.") from exc

    outcome = charging.charge(
        payment_services.PaymentRequest(
            reference=invoice.payment_reference,
            amount_minor=invoice.amount_minor,
            currency=invoice.currency,
            payment_method=token,
            idempotency_key=invoice.idempotency_key,
            customer_email=user.email,
            customer_user_id=str(user.public_id),
            correlation_id=sub.correlation_id,
        )
    )
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(sub)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if sub.status != SubscriptionStatus.INCOMPLETE or invoice.status != InvoiceStatus.OPEN:
            return sub  # the incomplete-sweeper resolved it meanwhile
        if outcome.succeeded:
            _record_success(invoice, sub, payment_id=outcome.payment_id, now=now)
            lifecycle.subscription_transition(
                sub, "activate", by=by or user, reason=f"invoice {invoice.number} paid", at=now
            )
            sub.current_period_start = invoice.period_start
            sub.current_period_end = invoice.period_end
            sub.save()
            publish(lifecycle.started_event(sub, amount_minor=invoice.amount_minor, invoice=invoice))
            publish(lifecycle.invoice_paid_event(invoice, sub))
            return sub
        invoice.payment_attempts = 1
        invoice.charge_attempts = 1
        invoice.last_decline_code = (outcome.decline_code or (outcome.error.code if outcome.error else ""))[:60]
        lifecycle.invoice_transition(invoice, "void", reason="first payment failed", at=now)
        invoice.save()
        lifecycle.subscription_transition(sub, "expire", by=by or user, reason="first payment failed", at=now)
        sub.ended_at = now
        sub.save()
    _raise_charge_error(outcome)
    raise AssertionError("unreachable")  # pragma: no cover


# --- change plan ---------------------------------------------------------------
def _direction(old: Plan, new: Plan) -> str:
    if new.tier.rank != old.tier.rank:
        return "upgrade" if new.tier.rank > old.tier.rank else "downgrade"
    old_yearly = old.price_minor * (12 if old.interval == Plan.Interval.MONTHLY else 1)
    new_yearly = new.price_minor * (12 if new.interval == Plan.Interval.MONTHLY else 1)
    if new_yearly == old_yearly:
        return "lateral"
    return "upgrade" if new_yearly > old_yearly else "downgrade"


def subscription_change_plan_preview(*, subscription: Subscription, plan: Plan | str) -> Proration:
    """What a change would cost now (read-only; the same arithmetic the change uses)."""
    new = _plan(plan)
    return _proration(subscription, new, timezone.now())


def _proration(sub: Subscription, new: Plan, now: datetime) -> Proration:
    old = sub.plan
    if sub.status == SubscriptionStatus.TRIALING:
        return Proration(0, 0, sub.current_period_start, sub.current_period_end, False)
    same = old.interval == new.interval
    return prorate(
        old_price_minor=old.price_minor,
        new_price_minor=new.price_minor,
        period_start=sub.current_period_start,
        period_end=sub.current_period_end,
        at=now,
        same_interval=same,
        new_period_end=None if same else period_end(start=now, interval=new.interval),
    )


def _apply_plan(sub: Subscription, new: Plan, proration: Proration, *, by, now, invoice, old: Plan) -> None:
    sub.plan = new
    if proration.resets_period:
        sub.current_period_start = proration.period_start
        sub.current_period_end = proration.period_end
        sub.billing_anchor_day = proration.period_start.day
    net = proration.net_minor
    if net < 0:
        sub.credit_minor += -net
    sub.save()
    note_add(
        sub,
        kind=SubscriptionNote.Kind.CHANGE_PLAN,
        by=by,
        text=f"{old.code} → {new.code}; credit {proration.credit_minor}, charge {proration.charge_minor} (minor units)",
        at=now,
    )
    publish(
        lifecycle.plan_changed_event(
            sub,
            previous_plan_code=old.code,
            direction=_direction(old, new),
            charged_minor=invoice.amount_minor if invoice else 0,
            credit_minor=max(-net, 0),
            invoice=invoice,
        )
    )


def subscription_change_plan(*, subscription: Subscription, plan: Plan | str, by=None) -> Subscription:
    """Upgrade or downgrade now, with proration (see proration.py for the exact rule).

    An amount due is charged at once on a ``plan_change`` invoice; if that is
    declined the plan stays as it was and the payments error is raised.
    """
    new = _plan(plan)
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.status not in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
            raise InvalidTransition(
                "The plan can only be changed while the membership is active or trialing.", current_status=sub.status
            )
        if sub.cancel_at_period_end:
            raise InvalidTransition("This membership ends at the end of the period; it cannot change plan.")
        old = sub.plan
        if new.pk == old.pk:
            raise SamePlan(f"You are already on {new.name}.")
        if new.currency != old.currency:
            raise PlanCurrencyMismatch(f"{new.name} is billed in {new.currency}, your plan in {old.currency}.")
        proration = _proration(sub, new, now)
        due = proration.net_minor - min(sub.credit_minor, max(proration.net_minor, 0))
        if proration.net_minor <= 0 or due <= 0:
            invoice = None
            if proration.net_minor > 0:  # fully covered by account credit: a paid invoice records it
                invoice = _plan_change_invoice(sub, old, new, proration, now)
                _record_success(invoice, sub, payment_id=None, now=now)
                sub.save(update_fields=["credit_minor"])
                publish(lifecycle.invoice_paid_event(invoice, sub))
            _apply_plan(sub, new, proration, by=by, now=now, invoice=invoice, old=old)
            return sub
        invoice = _plan_change_invoice(sub, old, new, proration, now)
        sub.save(update_fields=["credit_minor"])
        snapshot = (sub.plan_id, sub.current_period_start, sub.current_period_end)

    outcome = charging.charge(
        payment_services.PaymentRequest(
            reference=invoice.payment_reference,
            amount_minor=invoice.amount_minor,
            currency=invoice.currency,
            payment_method=sub.payment_method,
            idempotency_key=invoice.idempotency_key,
            customer_email=invoice.customer_email,
            customer_user_id=str(sub.user.public_id),
            correlation_id=sub.correlation_id,
        )
    )
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(sub)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        unchanged = (sub.plan_id, sub.current_period_start, sub.current_period_end) == snapshot
        if invoice.status != InvoiceStatus.OPEN:  # the membership was cancelled meanwhile (invoice voided)
            raise InvalidTransition("The membership changed while the payment was processed; nothing was switched.")
        if outcome.succeeded:
            _record_success(invoice, sub, payment_id=outcome.payment_id, now=now)
            publish(lifecycle.invoice_paid_event(invoice, sub))
            if unchanged and sub.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
                _apply_plan(sub, new, proration, by=by, now=now, invoice=invoice, old=old)
            return sub
        invoice.payment_attempts = 1
        invoice.charge_attempts = 1
        invoice.last_decline_code = (outcome.decline_code or (outcome.error.code if outcome.error else ""))[:60]
        lifecycle.invoice_transition(invoice, "void", reason="plan change payment failed", at=now)
        invoice.save()
        sub.credit_minor += invoice.credit_applied_minor  # give back the credit the invoice used
        sub.save(update_fields=["credit_minor", "updated_at"])
    _raise_charge_error(outcome)
    raise AssertionError("unreachable")  # pragma: no cover


def _plan_change_invoice(sub: Subscription, old: Plan, new: Plan, proration: Proration, now: datetime) -> Invoice:
    items = [(f"Unused time on {old.name}", -proration.credit_minor)]
    items.append((f"{new.name} until {proration.period_end:%d %b %Y}", proration.charge_minor))
    invoice, lines = invoice_build(
        sub,
        number=invoice_numbers_next(issued_at=now)[0],
        reason=Invoice.Reason.PLAN_CHANGE,
        period_start=now,
        period_end=proration.period_end,
        items=items,
        now=now,
    )
    invoice.save()
    InvoiceLine.objects.bulk_create(lines)
    lifecycle.invoice_transition(invoice, "finalize", at=now)
    invoice.save(update_fields=["status"])
    return invoice


# --- pause / resume --------------------------------------------------------------
def subscription_pause(*, subscription: Subscription, by=None, reason: str = "") -> Subscription:
    """Stop billing and perks. The paused time is not charged: resuming pushes the period end back by it."""
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.cancel_at_period_end:
            raise InvalidTransition("This membership ends at the end of the period; it cannot be paused.")
        _require(sub, "pause", "Only an active membership can be paused.")
        lifecycle.subscription_transition(sub, "pause", by=by, reason=reason or "paused", at=now)
        sub.paused_at = now
        sub.save()
        publish(lifecycle.paused_event(sub))
    return sub


def subscription_resume(*, subscription: Subscription, by=None) -> Subscription:
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        _require(sub, "resume", "Only a paused membership can be resumed.")
        paused_for = now - (sub.paused_at or now)
        lifecycle.subscription_transition(sub, "resume", by=by, reason=f"paused for {paused_for}", at=now)
        sub.current_period_end = sub.current_period_end + paused_for
        sub.billing_anchor_day = sub.current_period_end.day
        sub.paused_at = None
        sub.save()
        publish(lifecycle.resumed_event(sub, at=now))
    return sub


# --- cancel / expire ---------------------------------------------------------------
def _end(sub: Subscription, name: str, *, by, reason: str, detail: str, now: datetime) -> None:
    lifecycle.subscription_transition(sub, name, by=by, reason=detail or reason, at=now)
    sub.cancelled_at = now
    sub.ended_at = now
    sub.cancellation_reason = reason
    sub.save()
    for invoice in Invoice.objects.select_for_update().filter(
        subscription=sub, status__in=[InvoiceStatus.OPEN, InvoiceStatus.DRAFT]
    ):
        invoice.next_payment_attempt_at = None
        lifecycle.invoice_transition(invoice, "void", by=by, reason=f"membership {name}", at=now)
        invoice.save()
    publish(lifecycle.cancelled_event(sub, reason=reason, detail=detail))


def subscription_cancel(
    *, subscription: Subscription, at_period_end: bool = False, by=None, reason: str = "customer", detail: str = ""
) -> Subscription:
    """Cancel now (perks stop, open invoices are voided, no refund) or at the end of the paid period."""
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if at_period_end:
            if sub.status not in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
                raise InvalidTransition(
                    "Only an active or trialing membership can be cancelled at the period end; cancel it now instead.",
                    current_status=sub.status,
                )
            if sub.cancel_at_period_end:
                return sub
            sub.cancel_at_period_end = True
            sub.cancelled_at = now
            sub.cancellation_reason = reason
            sub.save()
            note_add(
                sub,
                kind=SubscriptionNote.Kind.SCHEDULE_CANCEL,
                by=by,
                text=detail or f"ends {sub.current_period_end:%Y-%m-%d}",
                at=now,
            )
            publish(lifecycle.cancellation_scheduled_event(sub))
            return sub
        _require(sub, "cancel", "This membership has already ended.")
        _end(sub, "cancel", by=by, reason=reason, detail=detail, now=now)
    return sub


def subscription_keep(*, subscription: Subscription, by=None) -> Subscription:
    """Undo a cancellation scheduled for the period end."""
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if not sub.cancel_at_period_end or not sub.is_live:
            raise InvalidTransition("This membership is not scheduled to end.", current_status=sub.status)
        sub.cancel_at_period_end = False
        sub.cancelled_at = None
        sub.cancellation_reason = ""
        sub.save()
        note_add(sub, kind=SubscriptionNote.Kind.KEEP, by=by, text="scheduled cancellation withdrawn", at=now)
    return sub


def subscription_expire(*, subscription: Subscription, by=None, detail: str = "") -> Subscription:
    """Staff end a trial (or a stuck first payment) without charging."""
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        _require(sub, "expire", "Only a trialing or incomplete membership can expire.")
        _end(sub, "expire", by=by, reason="expired", detail=detail or "expired", now=now)
    return sub


# --- reconciliation ----------------------------------------------------------------
def invoice_payment_reconcile(*, reference: str, payment_id: str) -> Invoice | None:
    """payments says a charge for ``invoice:<number>`` succeeded: record it if the billing run did not.

    Covers a billing worker that died between the gateway's answer and
    recording it: the invoice is paid and the period renewed now instead of at
    the next run. Renewal invoices only (a first charge or a plan change is
    recorded by the request that made it). A no-op when already recorded.
    """
    if not reference.startswith("invoice:"):
        return None
    now = timezone.now()
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update()
            .filter(number=reference.removeprefix("invoice:"), billing_reason=Invoice.Reason.CYCLE)
            .first()
        )
        if invoice is None or invoice.status != InvoiceStatus.OPEN:
            return invoice
        sub = _locked(invoice.subscription)
        if _record_success(invoice, sub, payment_id=payment_id, now=now):
            sub.save()
            publish(lifecycle.invoice_paid_event(invoice, sub))
            publish(lifecycle.renewed_event(sub, invoice=invoice))
        else:
            publish(lifecycle.invoice_paid_event(invoice, sub))
    return invoice


def subscriptions_incomplete_resolve(*, older_than_minutes: int = 15) -> int:
    """Finish first payments a crashed request left ``incomplete`` (which would block the customer forever).

    Asks payments what happened to the invoice's charge: captured → the
    subscription starts (as if the request had finished); anything else → it
    expires and the invoice is voided, so the customer can subscribe again.
    Returns how many were resolved.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    resolved = 0
    stuck = Subscription.objects.filter(status=SubscriptionStatus.INCOMPLETE, created_at__lte=cutoff)
    for sub_id, number in stuck.values_list("pk", "invoices__number"):
        captured = (
            next(
                (
                    p
                    for p in payments_for_reference(reference=f"invoice:{number}")
                    if p.status in charging.SUCCESS_STATUSES
                ),
                None,
            )
            if number
            else None
        )
        now = timezone.now()
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update(of=("self",)).select_related("plan__tier", "user").get(pk=sub_id)
            )
            if sub.status != SubscriptionStatus.INCOMPLETE:
                continue
            invoice = Invoice.objects.select_for_update().filter(subscription=sub, number=number).first()
            if captured is not None and invoice is not None and invoice.status == InvoiceStatus.OPEN:
                _record_success(invoice, sub, payment_id=str(captured.id), now=now)
                lifecycle.subscription_transition(sub, "activate", reason="first payment found captured", at=now)
                sub.current_period_start = invoice.period_start
                sub.current_period_end = invoice.period_end
                sub.save()
                publish(lifecycle.started_event(sub, amount_minor=invoice.amount_minor, invoice=invoice))
                publish(lifecycle.invoice_paid_event(invoice, sub))
            else:
                if invoice is not None and invoice.status == InvoiceStatus.OPEN:
                    lifecycle.invoice_transition(invoice, "void", reason="first payment never completed", at=now)
                    invoice.save()
                lifecycle.subscription_transition(sub, "expire", reason="first payment never completed", at=now)
                sub.ended_at = now
                sub.save()
            resolved += 1
    return resolved


def subscription_update_payment_method(*, subscription: Subscription, payment_method: str, by=None) -> Subscription:
    """Save a new card for renewals. A past-due membership is retried at the next billing run, not days later."""
    method = payment_services.payment_method_attach(user_id=str(subscription.user.public_id), token=payment_method)
    now = timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if not sub.is_live:
            raise InvalidTransition("This membership has ended.", current_status=sub.status)
        sub.payment_method = getattr(method, "token", None) or payment_method
        sub.payment_method_label = _payment_method_label(method)
        sub.save()
        note_add(sub, kind=SubscriptionNote.Kind.UPDATE_PAYMENT_METHOD, by=by, text=sub.payment_method_label, at=now)
        if sub.status == SubscriptionStatus.PAST_DUE:
            Invoice.objects.filter(subscription=sub, status=InvoiceStatus.OPEN, next_payment_attempt_at__gt=now).update(
                next_payment_attempt_at=now, updated_at=now
            )
    return sub
