"""Daily reconciliation: the gateway's books against ours, mismatches listed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.utils import timezone

from payments import reconciliation, services, tasks, webhooks
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, PaymentMovement, ReconciliationReport
from tests.payments.factories import authorized_payment, captured_payment

pytestmark = pytest.mark.django_db


def test_agreeing_books_have_no_mismatch():
    captured_payment()
    authorized_payment()
    report = reconciliation.reconciliation_run(day=timezone.now().date())
    assert (report.gateway, report.gateway_charges, report.flowmart_payments, report.mismatch_count) == (
        "sandbox",
        2,
        2,
        0,
    )


def test_disagreements_are_listed():
    refunded_elsewhere = captured_payment(amount_minor=5000)
    charge_id = Payment.objects.get(pk=refunded_elsewhere.id).gateway_ref
    SandboxGateway().refund(charge_id=charge_id, amount_minor=1500, idempotency_key="dashboard-refund")
    # A charge the gateway made that FlowMart never recorded.
    stray = SandboxGateway().authorize(
        amount_minor=700, currency="USD", payment_method="pm_card_visa", idempotency_key="stray", description="?"
    )

    report = reconciliation.reconciliation_run(day=timezone.now().date())

    found = sorted((m.kind, m.gateway_ref, m.flowmart_value, m.gateway_value) for m in report.mismatches.all())
    assert found == [
        ("missing_in_flowmart", stray.id, "", "authorized 0/700 USD"),
        ("movement", charge_id, "refund 0 fee 0", "refund -1500 fee 0"),
        ("refunded", charge_id, "0", "1500"),
    ]
    assert report.mismatch_count == 3


def test_the_daily_task_reconciles_yesterday():
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        captured_payment()
    with time_machine.travel(datetime(2026, 3, 2, 3, 5, tzinfo=UTC), tick=False):
        tasks.reconcile_payments_task()
    report = ReconciliationReport.objects.get()
    assert report.period_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert (report.gateway_charges, report.flowmart_payments, report.mismatch_count) == (1, 1, 0)


def test_the_daily_task_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["payments-reconcile-daily"]
    assert entry["task"] == "payments.tasks.reconcile_payments_task"


def test_a_refund_today_of_a_charge_from_last_week_is_in_todays_reconciliation():
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        ours = captured_payment(amount_minor=5000)
        dashboard = captured_payment(amount_minor=3000)
    with time_machine.travel(datetime(2026, 3, 8, 9, tzinfo=UTC), tick=False):
        services.payment_refund(payment_id=ours.id, amount_minor=1000, reason="late", idempotency_key="r-old")
        # Refunded in the gateway's dashboard; its webhook has not been applied yet.
        charge_id = Payment.objects.get(pk=dashboard.id).gateway_ref
        SandboxGateway().refund(charge_id=charge_id, amount_minor=400, idempotency_key="dashboard")

    report = reconciliation.reconciliation_run(day=date(2026, 3, 8))

    assert (report.gateway_charges, report.flowmart_payments) == (0, 0)  # nothing was created that day
    assert (report.gateway_movements, report.flowmart_movements) == (2, 1)
    found = sorted((m.kind, m.gateway_ref, m.flowmart_value, m.gateway_value) for m in report.mismatches.all())
    assert found == [
        ("movement", charge_id, "refund 0 fee 0", "refund -400 fee 0"),
        ("refunded", charge_id, "0", "400"),
    ]
    # The day the charges were made has their captures only; its charges, compared as they stand now, still show
    # the dashboard refund nobody applied.
    first_day = reconciliation.reconciliation_run(day=date(2026, 3, 1))
    assert (first_day.gateway_movements, first_day.flowmart_movements) == (2, 2)
    assert [(m.kind, m.gateway_ref) for m in first_day.mismatches.all()] == [("refunded", charge_id)]


def test_a_lost_dispute_on_an_older_charge_is_in_the_day_it_was_decided(settings):
    settings.PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR = 1500
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        info = captured_payment(amount_minor=5000)
    charge_id = Payment.objects.get(pk=info.id).gateway_ref
    with time_machine.travel(datetime(2026, 3, 5, 12, tzinfo=UTC), tick=False):
        webhooks.sandbox_dispute_send(charge_id=charge_id, event_type="charge.dispute.created", status="x")

    report = reconciliation.reconciliation_run(day=date(2026, 3, 5))

    assert (report.gateway_movements, report.flowmart_movements, report.mismatch_count) == (1, 1, 0)
    movement = PaymentMovement.objects.get(kind="dispute_withdrawal")
    assert (movement.amount_minor, movement.fee_minor, movement.happened_at) == (
        -5000,
        1500,
        datetime(2026, 3, 5, 12, tzinfo=UTC),
    )
