from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from subscriptions.models import Invoice, Plan
from subscriptions.tasks import bill_due_subscriptions_task
from tests.subscriptions.factories import SubscriptionFactory


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo_subscriptions")
    call_command("seed_demo_subscriptions")
    plans = {p.code: p for p in Plan.objects.select_related("tier")}
    assert set(plans) == {"plus-monthly", "plus-yearly"}
    tier = plans["plus-monthly"].tier
    assert (tier.free_shipping, tier.percent_off, tier.early_access) == (True, 10, True)


@pytest.mark.worker
def test_beat_task_bills_due_subscriptions_in_batches_on_a_real_worker(celery_worker, wait_until, monthly, settings):
    settings.BILLING_BATCH_SIZE = 2
    start = timezone.now() - timedelta(days=31)
    subs = [
        SubscriptionFactory(plan=monthly, current_period_start=start, current_period_end=start + timedelta(days=30))
        for _ in range(5)
    ]
    assert bill_due_subscriptions_task.delay() is not None
    wait_until(lambda: Invoice.objects.filter(status="paid").count() == 5, message="5 paid invoices")
    for sub in subs:
        sub.refresh_from_db()
        assert sub.current_period_start == start + timedelta(days=30)
    assert Invoice.objects.count() == 5
