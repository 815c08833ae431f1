"""Two billing runs at once (two beat ticks, a redelivered batch task): each period is billed once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payments.selectors import payments_for_reference
from subscriptions.billing import billing_bill_batch
from subscriptions.models import Invoice
from tests.subscriptions.factories import SubscriptionFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_ids_bill_each_period_once(monthly):
    start = timezone.now() - timedelta(days=31)
    subs = [
        SubscriptionFactory(plan=monthly, current_period_start=start, current_period_end=start + timedelta(days=30))
        for _ in range(6)
    ]
    ids = [s.pk for s in subs]
    barrier = threading.Barrier(3)
    errors = []

    def run():
        try:
            barrier.wait()
            billing_bill_batch(subscription_ids=ids)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # a run that found the rows locked skipped them; bill again to finish anything left
    billing_bill_batch(subscription_ids=ids)
    assert Invoice.objects.count() == 6
    assert Invoice.objects.filter(status="paid").count() == 6
    for invoice in Invoice.objects.all():
        captured = [p for p in payments_for_reference(reference=f"invoice:{invoice.number}") if p.status == "captured"]
        assert len(captured) == 1
