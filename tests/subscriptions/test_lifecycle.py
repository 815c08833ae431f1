"""Subscribe, change plan, pause/resume, cancel, expire: state, money, transitions, events."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from flowmart.errors import FlowMartError, InvalidTransition
from flowmart.events.models import OutboxEvent
from subscriptions import services
from subscriptions.models import Invoice, Subscription
from subscriptions.selectors import member_perks_for_user

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def events_for(sub):
    return list(
        OutboxEvent.objects.filter(correlation_id=f"sub:{sub.public_id}", producer="subscriptions")
        .order_by("occurred_at", "created_at")
        .values_list("name", flat=True)
    )


@time_machine.travel(T0, tick=False)
def test_subscribe_without_trial_charges_the_first_period_and_activates(customer, monthly):
    sub = services.subscription_subscribe(user=customer, plan="plus-monthly", payment_method="pm_card_visa")

    assert sub.status == "active"
    assert (sub.current_period_start, sub.current_period_end) == (T0, datetime(2026, 4, 1, 12, tzinfo=UTC))
    invoice = Invoice.objects.get(subscription=sub)
    assert (invoice.status, invoice.amount_minor, invoice.currency, invoice.billing_reason) == (
        "paid",
        999,
        "USD",
        "subscription_create",
    )
    assert invoice.number.startswith("INV-2026-")
    assert invoice.payment_id is not None
    assert [(t.transition, t.from_state, t.to_state) for t in invoice.transitions.all()] == [
        ("finalize", "draft", "open"),
        ("pay", "open", "paid"),
    ]
    assert [(t.transition, t.from_state, t.to_state) for t in sub.transitions.all()] == [
        ("create", "", "incomplete"),
        ("activate", "incomplete", "active"),
    ]
    assert events_for(sub) == ["UserSubscriptionStarted", "InvoicePaid"]
    started = OutboxEvent.objects.get(name="UserSubscriptionStarted")
    assert started.payload["customer_email"] == "casey@example.com"
    assert started.payload["user_id"] == str(customer.public_id)
    assert started.payload["amount_minor"] == 999
    assert member_perks_for_user(user_id=customer.public_id).tier_name == "Plus"


@time_machine.travel(T0, tick=False)
def test_subscribe_with_trial_charges_nothing_and_gives_perks(customer, trial_plan):
    sub = services.subscription_subscribe(user=customer, plan=trial_plan, payment_method="pm_card_visa")

    assert sub.status == "trialing"
    assert sub.trial_end == sub.current_period_end == T0 + timedelta(days=14)
    assert Invoice.objects.count() == 0
    assert events_for(sub) == ["UserSubscriptionStarted"]
    assert OutboxEvent.objects.get().payload["status"] == "trialing"
    perks = member_perks_for_user(user_id=str(customer.public_id))
    assert (perks.tier_name, perks.free_shipping, perks.percent_off, perks.early_access) == ("Plus", True, 10, True)


@time_machine.travel(T0, tick=False)
def test_declined_first_charge_expires_the_subscription_and_raises_402(customer, monthly):
    with pytest.raises(FlowMartError) as exc:
        services.subscription_subscribe(
            user=customer, plan="plus-monthly", payment_method="pm_card_chargeDeclinedInsufficientFunds"
        )
    assert (exc.value.code, exc.value.status) == ("payment_declined", 402)
    sub = Subscription.objects.get(user=customer)
    assert sub.status == "expired"
    assert Invoice.objects.get().status == "void"
    assert member_perks_for_user(user_id=customer.public_id).tier_name is None
    # ...and the customer may try again with another card
    again = services.subscription_subscribe(user=customer, plan="plus-monthly", payment_method="pm_card_visa")
    assert again.status == "active"


def test_a_second_live_subscription_is_refused(customer, monthly):
    services.subscription_subscribe(user=customer, plan="plus-monthly", payment_method="pm_card_visa")
    with pytest.raises(services.AlreadySubscribed):
        services.subscription_subscribe(user=customer, plan="plus-monthly", payment_method="pm_card_visa")


def test_inactive_or_unknown_plan_is_refused(customer, monthly):
    monthly.is_active = False
    monthly.save()
    with pytest.raises(services.PlanNotAvailable):
        services.subscription_subscribe(user=customer, plan="plus-monthly", payment_method="pm_card_visa")
    with pytest.raises(services.PlanNotAvailable):
        services.subscription_subscribe(user=customer, plan="nope", payment_method="pm_card_visa")


def test_upgrade_mid_period_charges_the_proration_now(customer, monthly, premium):
    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):  # April: 30 days
        sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    with time_machine.travel(datetime(2026, 4, 16, tzinfo=UTC), tick=False):
        sub = services.subscription_change_plan(subscription=sub, plan="premium-monthly", by=customer)

    assert sub.plan.code == "premium-monthly"
    assert sub.current_period_end == datetime(2026, 5, 1, tzinfo=UTC)
    invoice = Invoice.objects.get(billing_reason="plan_change")
    # 15 of 30 days left: credit 999*15//30 = 499, charge 1999*15//30 = 999
    assert (invoice.status, invoice.subtotal_minor, invoice.amount_minor) == ("paid", 500, 500)
    assert [(line.description, line.amount_minor) for line in invoice.lines.all()] == [
        ("Unused time on FlowMart Plus", -499),
        ("FlowMart Premium until 01 May 2026", 999),
    ]
    changed = OutboxEvent.objects.get(name="SubscriptionPlanChanged")
    assert (changed.payload["direction"], changed.payload["proration_charged_minor"]) == ("upgrade", 500)
    assert member_perks_for_user(user_id=customer.public_id).percent_off == 15


def test_downgrade_credits_the_difference_to_the_next_invoice(customer, premium, basic):
    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        sub = services.subscription_subscribe(user=customer, plan=premium, payment_method="pm_card_visa")
    with time_machine.travel(datetime(2026, 4, 21, tzinfo=UTC), tick=False):  # 10 of 30 days left
        sub = services.subscription_change_plan(subscription=sub, plan=basic, by=customer)
    # credit 1999*10//30 = 666, charge 499*10//30 = 166 → 500 credit
    assert (sub.plan.code, sub.credit_minor) == ("basic-monthly", 500)
    assert not Invoice.objects.filter(billing_reason="plan_change").exists()

    from subscriptions.billing import billing_run

    with time_machine.travel(datetime(2026, 5, 1, 1, tzinfo=UTC), tick=False):
        billing_run()
    renewal = Invoice.objects.get(billing_reason="subscription_cycle")
    assert (renewal.subtotal_minor, renewal.credit_applied_minor, renewal.amount_minor, renewal.status) == (
        499,
        499,
        0,
        "paid",
    )
    sub.refresh_from_db()
    assert sub.credit_minor == 1


def test_declined_upgrade_keeps_the_old_plan(customer, monthly, premium):
    sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    Subscription.objects.filter(pk=sub.pk).update(payment_method="pm_card_chargeDeclinedInsufficientFunds")
    with pytest.raises(FlowMartError) as exc:
        services.subscription_change_plan(subscription=sub, plan=premium)
    assert exc.value.status == 402
    sub.refresh_from_db()
    assert sub.plan.code == "plus-monthly"
    assert Invoice.objects.get(billing_reason="plan_change").status == "void"


def test_change_to_same_plan_or_while_paused_is_refused(customer, monthly, premium):
    sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    with pytest.raises(services.SamePlan):
        services.subscription_change_plan(subscription=sub, plan=monthly)
    services.subscription_pause(subscription=sub, by=customer)
    with pytest.raises(InvalidTransition):
        services.subscription_change_plan(subscription=sub, plan=premium)


def test_pause_stops_perks_and_resume_pushes_the_period_end_back(customer, monthly):
    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    with time_machine.travel(datetime(2026, 4, 10, tzinfo=UTC), tick=False):
        sub = services.subscription_pause(subscription=sub, by=customer, reason="travelling")
    assert sub.status == "paused"
    assert member_perks_for_user(user_id=customer.public_id).tier_name is None
    with time_machine.travel(datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        sub = services.subscription_resume(subscription=sub, by=customer)
    assert sub.status == "active"
    assert sub.current_period_end == datetime(2026, 5, 11, tzinfo=UTC)
    assert [t.transition for t in sub.transitions.all()][-2:] == ["pause", "resume"]
    assert events_for(sub)[-2:] == ["SubscriptionPaused", "SubscriptionResumed"]
    with pytest.raises(InvalidTransition):
        services.subscription_resume(subscription=sub)


def test_cancel_now_ends_perks_and_publishes(customer, monthly):
    sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    sub = services.subscription_cancel(subscription=sub, by=customer)
    assert sub.status == "cancelled"
    assert sub.ended_at is not None
    assert member_perks_for_user(user_id=customer.public_id).tier_name is None
    cancelled = OutboxEvent.objects.get(name="UserSubscriptionCancelled")
    assert (cancelled.payload["reason"], cancelled.payload["customer_email"]) == ("customer", "casey@example.com")
    with pytest.raises(InvalidTransition):
        services.subscription_cancel(subscription=sub)


def test_cancel_at_period_end_keeps_perks_until_the_billing_run_ends_it(customer, monthly):
    from subscriptions.billing import billing_run

    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
        sub = services.subscription_cancel(subscription=sub, at_period_end=True, by=customer)
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    assert member_perks_for_user(user_id=customer.public_id).tier_name == "Plus"
    with time_machine.travel(datetime(2026, 5, 1, 0, 5, tzinfo=UTC), tick=False):
        report = billing_run()
    sub.refresh_from_db()
    assert (report.cancelled, report.paid, sub.status) == (1, 0, "cancelled")
    assert sub.ended_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert Invoice.objects.count() == 1  # only the first period; nothing billed after cancelling
    assert events_for(sub)[-2:] == ["SubscriptionCancellationScheduled", "UserSubscriptionCancelled"]


def test_keep_withdraws_a_scheduled_cancellation(customer, monthly):
    sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    services.subscription_cancel(subscription=sub, at_period_end=True)
    sub = services.subscription_keep(subscription=sub)
    assert sub.cancel_at_period_end is False


def test_staff_expire_a_trial(customer, trial_plan, staff_user):
    sub = services.subscription_subscribe(user=customer, plan=trial_plan, payment_method="pm_card_visa")
    sub = services.subscription_expire(subscription=sub, by=staff_user, detail="abuse")
    assert sub.status == "expired"
    last = sub.transitions.last()
    assert (last.transition, last.from_state, last.to_state, last.by, last.reason) == (
        "expire",
        "trialing",
        "expired",
        staff_user,
        "abuse",
    )


def test_status_cannot_be_assigned_directly(customer, monthly):
    sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    with pytest.raises(AttributeError):
        sub.status = "cancelled"


def test_a_first_payment_request_that_died_half_way_is_resolved_by_the_sweeper(customer, other_customer, monthly):
    from django.db import transaction

    from payments.services import PaymentRequest, payment_charge
    from subscriptions.billing import invoice_build, period_line
    from subscriptions.invoice_numbers import invoice_numbers_next

    def stuck(user, *, charged):
        with transaction.atomic():
            sub = Subscription.objects.create(
                user=user, plan=monthly, current_period_start=T0, current_period_end=T0, payment_method="pm_card_visa"
            )
            end = datetime(2026, 4, 1, 12, tzinfo=UTC)
            invoice, lines = invoice_build(
                sub,
                number=invoice_numbers_next()[0],
                reason="subscription_create",
                period_start=T0,
                period_end=end,
                items=[period_line(sub, T0, end)],
                now=T0,
            )
            invoice.save()
            invoice.finalize()
            invoice.save()
        if charged:
            payment_charge(
                PaymentRequest(
                    reference=invoice.payment_reference,
                    amount_minor=999,
                    currency="USD",
                    payment_method="pm_card_visa",
                    idempotency_key=invoice.idempotency_key,
                )
            )
        return sub

    with time_machine.travel(T0, tick=False):
        paid = stuck(customer, charged=True)
        unpaid = stuck(other_customer, charged=False)
        assert services.subscriptions_incomplete_resolve() == 0  # too recent: the request may still be running
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        assert services.subscriptions_incomplete_resolve() == 2
    paid.refresh_from_db()
    unpaid.refresh_from_db()
    assert (paid.status, paid.current_period_end) == ("active", datetime(2026, 4, 1, 12, tzinfo=UTC))
    assert paid.invoices.get().status == "paid"
    assert (unpaid.status, unpaid.invoices.get().status) == ("expired", "void")
