"""Daily reconciliation: the gateway's books against ours, mismatches listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone

from payments import reconciliation, tasks
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, ReconciliationReport
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
        ("refunded", charge_id, "0", "1500"),
    ]
    assert report.mismatch_count == 2


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
