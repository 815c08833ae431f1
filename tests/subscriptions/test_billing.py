"""The recurring billing run: renewals, dunning, and idempotency under re-runs and crashes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from flowmart.events.models import OutboxEvent
from payments.selectors import payments_for_reference
from subscriptions import charging
from subscriptions.billing import billing_batches, billing_bill_batch, billing_run
from subscriptions.models import Invoice, Subscription
from subscriptions.selectors import member_perks_for_user, subscription_ids_due_for_billing
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=UTC)
DUE = datetime(2026, 4, 1, 0, 10, tzinfo=UTC)
DECLINE = "pm_card_chargeDeclinedInsufficientFunds"


def make_subs(n, monthly, *, payment_method="pm_card_visa"):
    return [
        SubscriptionFactory(
            plan=monthly,
            current_period_start=START,
            current_period_end=START.replace(month=4),
            payment_method=payment_method,
        )
        for _ in range(n)
    ]


def names(sub):
    return list(
        OutboxEvent.objects.filter(correlation_id=f"sub:{sub.public_id}", producer="subscriptions")
        .order_by("occurred_at", "created_at")
        .values_list("name", flat=True)
    )


def test_due_subscription_is_charged_and_renewed(monthly):
    (sub,) = make_subs(1, monthly)
    with time_machine.travel(DUE, tick=False):
        report = billing_run()
    sub.refresh_from_db()
    assert (report.paid, report.failed) == (1, 0)
    assert (sub.status, sub.current_period_start, sub.current_period_end) == (
        "active",
        datetime(2026, 4, 1, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    invoice = Invoice.objects.get(subscription=sub)
    assert (invoice.status, invoice.amount_minor, invoice.period_start, invoice.billing_reason) == (
        "paid",
        999,
        datetime(2026, 4, 1, tzinfo=UTC),
        "subscription_cycle",
    )
    assert [(t.transition, t.from_state, t.to_state) for t in invoice.transitions.all()] == [
        ("finalize", "draft", "open"),
        ("pay", "open", "paid"),
    ]
    assert names(sub) == ["InvoicePaid", "SubscriptionRenewed"]
    renewed = OutboxEvent.objects.get(name="SubscriptionRenewed")
    assert renewed.payload["current_period_end"] == "2026-05-01T00:00:00+00:00"
    assert renewed.payload["customer_email"] == sub.user.email


def test_subscriptions_not_yet_due_are_left_alone(monthly):
    make_subs(2, monthly)
    with time_machine.travel(datetime(2026, 3, 31, 23, 59, tzinfo=UTC), tick=False):
        assert subscription_ids_due_for_billing() == []
        assert billing_run().processed == 0
    assert Invoice.objects.count() == 0


def test_trial_end_bills_the_first_period(customer, trial_plan):
    from subscriptions.services import subscription_subscribe

    with time_machine.travel(START, tick=False):
        sub = subscription_subscribe(user=customer, plan=trial_plan, payment_method="pm_card_visa")
    with time_machine.travel(START + timedelta(days=14, minutes=1), tick=False):
        billing_run()
    sub.refresh_from_db()
    assert (sub.status, sub.current_period_end) == ("active", datetime(2026, 4, 15, tzinfo=UTC))
    assert Invoice.objects.get().amount_minor == 999


def test_running_the_billing_twice_bills_once(monthly):
    subs = make_subs(3, monthly)
    with time_machine.travel(DUE, tick=False):
        first = billing_run()
        second = billing_run()
        # even handing the same ids to a batch again does nothing
        third = billing_bill_batch(subscription_ids=[s.pk for s in subs])
    assert (first.paid, second.processed, third.paid) == (3, 0, 0)
    assert Invoice.objects.count() == 3
    assert OutboxEvent.objects.filter(name="InvoicePaid").count() == 3


def test_a_crash_half_way_then_a_rerun_bills_everyone_exactly_once(monthly, monkeypatch):
    subs = make_subs(5, monthly)
    real_charge = charging.charge
    calls: list[str] = []

    def crashing_charge(request):
        calls.append(request.idempotency_key)
        result = real_charge(request)
        if len(calls) == 3:
            raise RuntimeError("worker killed after the 3rd charge")
        return result

    monkeypatch.setattr(charging, "charge", crashing_charge)
    with time_machine.travel(DUE, tick=False):
        with pytest.raises(RuntimeError):
            billing_run(batch_size=2)  # batch 1 done, batch 2 dies after its first charge
        assert Invoice.objects.filter(status="paid").count() == 2
        assert Invoice.objects.filter(status="open").count() == 2  # batch 2 made its invoices
        report = billing_run(batch_size=2)
    assert report.paid == 3
    assert Invoice.objects.filter(status="paid").count() == 5
    assert Invoice.objects.values("subscription", "period_start").distinct().count() == 5
    # the crashed batch's first charge was re-sent with the same key: the gateway answers it once
    assert calls.count(calls[2]) == 2
    assert len(set(calls)) == 5
    for invoice in Invoice.objects.all():
        (payment,) = payments_for_reference(reference=f"invoice:{invoice.number}")
        assert (payment.status, payment.captured_minor, str(payment.id)) == ("captured", 999, str(invoice.payment_id))
    for sub in subs:
        sub.refresh_from_db()
        assert sub.current_period_end == datetime(2026, 5, 1, tzinfo=UTC)
    assert OutboxEvent.objects.filter(name="SubscriptionRenewed").count() == 5


def test_one_invoice_per_period_is_enforced_by_the_database(monthly):
    from django.db import IntegrityError, transaction

    (sub,) = make_subs(1, monthly)
    with time_machine.travel(DUE, tick=False):
        billing_run()
    invoice = Invoice.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            number="INV-2026-999999",
            subscription=sub,
            user=sub.user,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            amount_minor=999,
            currency="USD",
            customer_email="x@example.com",
            issued_at=DUE,
        )


def test_declines_go_past_due_then_dunning_retries_after_1_3_7_days_then_cancels(monthly):
    (sub,) = make_subs(1, monthly, payment_method=DECLINE)
    with time_machine.travel(DUE, tick=False):
        billing_run()
    sub.refresh_from_db()
    invoice = Invoice.objects.get()
    assert (sub.status, invoice.status, invoice.payment_attempts) == ("past_due", "open", 1)
    assert invoice.next_payment_attempt_at == DUE + timedelta(days=1)
    assert member_perks_for_user(user_id=sub.user.public_id).tier_name == "Plus"  # grace while dunning

    with time_machine.travel(DUE + timedelta(hours=23), tick=False):
        assert billing_run().processed == 0  # not yet
    for days, attempt, next_at in [(1, 2, 3), (3, 3, 7)]:
        with time_machine.travel(DUE + timedelta(days=days, minutes=1), tick=False):
            assert billing_run().failed == 1
        invoice.refresh_from_db()
        assert (invoice.payment_attempts, invoice.next_payment_attempt_at) == (attempt, DUE + timedelta(days=next_at))
    with time_machine.travel(DUE + timedelta(days=7, minutes=1), tick=False):
        report = billing_run()
    assert (report.failed, report.cancelled) == (1, 1)
    sub.refresh_from_db()
    invoice.refresh_from_db()
    assert (sub.status, sub.cancellation_reason) == ("cancelled", "payment_failed")
    assert (invoice.status, invoice.payment_attempts, invoice.next_payment_attempt_at) == ("uncollectible", 4, None)
    assert names(sub) == ["InvoicePaymentFailed"] * 4 + ["UserSubscriptionCancelled"]
    finals = list(
        OutboxEvent.objects.filter(name="InvoicePaymentFailed")
        .order_by("occurred_at")
        .values_list("payload", flat=True)
    )
    assert [(p["attempt"], p["final"]) for p in finals] == [(1, False), (2, False), (3, False), (4, True)]
    assert finals[0]["decline_code"] == "insufficient_funds"
    assert [t.transition for t in sub.transitions.all()] == ["mark_past_due", "cancel"]


def test_dunning_retry_that_succeeds_reactivates_and_renews(monthly):
    (sub,) = make_subs(1, monthly, payment_method=DECLINE)
    with time_machine.travel(DUE, tick=False):
        billing_run()
    Subscription.objects.filter(pk=sub.pk).update(payment_method="pm_card_visa")  # customer fixed the card
    with time_machine.travel(DUE + timedelta(days=1, minutes=1), tick=False):
        assert billing_run().paid == 1
    sub.refresh_from_db()
    invoice = Invoice.objects.get()
    assert (sub.status, sub.current_period_end) == ("active", datetime(2026, 5, 1, tzinfo=UTC))
    assert (invoice.status, invoice.payment_attempts) == ("paid", 1)


def test_gateway_outage_is_not_a_decline_and_the_next_run_retries_with_the_next_key(monthly, monkeypatch):
    (sub,) = make_subs(1, monthly, payment_method="pm_card_sandboxUnavailable")
    keys = []
    real_charge = charging.charge

    def spy(request):
        keys.append(request.idempotency_key)
        return real_charge(request)

    monkeypatch.setattr(charging, "charge", spy)
    with time_machine.travel(DUE, tick=False):
        assert billing_run().deferred == 1
        sub.refresh_from_db()
        invoice = Invoice.objects.get()
        assert (sub.status, invoice.status, invoice.payment_attempts) == ("active", "open", 0)
        Subscription.objects.filter(pk=sub.pk).update(payment_method="pm_card_visa")  # the provider is back
        assert billing_run().paid == 1
    number = invoice.number
    assert keys == [f"invoice-{number}-attempt-1", f"invoice-{number}-attempt-2"]
    payments = payments_for_reference(reference=f"invoice:{number}")
    assert sorted(p.status for p in payments) == ["captured", "failed"]


def test_paused_and_cancelled_subscriptions_are_not_billed(monthly):
    a, b = make_subs(2, monthly)
    from subscriptions.services import subscription_cancel, subscription_pause

    subscription_pause(subscription=a)
    subscription_cancel(subscription=b)
    with time_machine.travel(DUE, tick=False):
        assert subscription_ids_due_for_billing() == []
        assert billing_run().processed == 0


def test_batches_split_the_due_ids(monthly):
    subs = make_subs(5, monthly)
    with time_machine.travel(DUE, tick=False):
        batches = billing_batches(batch_size=2)
    assert batches == [[s.pk for s in subs[:2]], [s.pk for s in subs[2:4]], [subs[4].pk]]


def test_payment_processed_event_records_a_charge_the_crashed_run_left_unrecorded(monthly, monkeypatch):
    """The worker died right after the gateway said yes: payments' PaymentProcessed event renews the period."""
    from flowmart.events.testing import deliver_pending
    from subscriptions import billing

    (sub,) = make_subs(1, monthly)

    def crash(*args, **kwargs):
        raise RuntimeError("killed before recording")

    monkeypatch.setattr(billing, "_record", crash)
    with time_machine.travel(DUE, tick=False):
        with pytest.raises(RuntimeError):
            billing_run()
        assert Invoice.objects.get().status == "open"
        deliver_pending()
    invoice = Invoice.objects.get()
    sub.refresh_from_db()
    assert (invoice.status, sub.current_period_end) == ("paid", datetime(2026, 5, 1, tzinfo=UTC))
    (payment,) = payments_for_reference(reference=f"invoice:{invoice.number}")
    assert invoice.payment_id == payment.id
    monkeypatch.undo()
    with time_machine.travel(DUE, tick=False):
        assert billing_run().processed == 0  # nothing left to bill
    assert names(sub) == ["InvoicePaid", "SubscriptionRenewed"]


def test_updating_the_card_while_past_due_retries_at_the_next_run(monthly):
    from subscriptions.services import subscription_update_payment_method

    (sub,) = make_subs(1, monthly, payment_method=DECLINE)
    with time_machine.travel(DUE, tick=False):
        billing_run()
    with time_machine.travel(DUE + timedelta(hours=2), tick=False):
        sub = subscription_update_payment_method(subscription=sub, payment_method="pm_card_mastercard")
        assert sub.payment_method_label == "mastercard •••• 4444"
        assert billing_run().paid == 1
    sub.refresh_from_db()
    assert (sub.status, sub.current_period_end) == ("active", datetime(2026, 5, 1, tzinfo=UTC))


def test_a_membership_started_on_the_31st_renews_on_the_last_day_of_each_month(monthly, customer):
    from subscriptions.services import subscription_subscribe

    with time_machine.travel(datetime(2026, 1, 31, 9, 0, tzinfo=UTC), tick=False):
        sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    ends = [sub.current_period_end]
    for due in (datetime(2026, 2, 28, 9, 5, tzinfo=UTC), datetime(2026, 3, 31, 9, 5, tzinfo=UTC)):
        with time_machine.travel(due, tick=False):
            billing_run()
        sub.refresh_from_db()
        ends.append(sub.current_period_end)

    # Clamped to 28 Feb once, then back on the 31st (and 30 April), not stuck on the 28th.
    assert [e.date().isoformat() for e in ends] == ["2026-02-28", "2026-03-31", "2026-04-30"]
    assert sub.status == "active"
