"""Every event of a subscription's life is delivered to its consumers without errors."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from flowmart.events.models import Delivery
from flowmart.events.testing import deliver_pending
from subscriptions import services
from subscriptions.billing import billing_run
from subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def test_a_whole_membership_timeline_is_delivered_cleanly(customer, monthly, premium):
    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        sub = services.subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
        services.subscription_pause(subscription=sub)
        services.subscription_resume(subscription=sub)
        services.subscription_change_plan(subscription=sub, plan=premium)
    Subscription.objects.filter(pk=sub.pk).update(payment_method="pm_card_chargeDeclinedInsufficientFunds")
    with time_machine.travel(datetime(2026, 5, 1, 1, tzinfo=UTC), tick=False):
        billing_run()
    for days in (1, 3, 7):
        with time_machine.travel(datetime(2026, 5, 1, 1, tzinfo=UTC) + timedelta(days=days, minutes=1), tick=False):
            billing_run()
    sub.refresh_from_db()
    assert sub.status == "cancelled"

    deliver_pending()
    ours = Delivery.objects.filter(event__producer="subscriptions")
    assert ours.exists()
    problems = list(ours.exclude(status="succeeded").values_list("event__name", "handler", "last_error"))
    assert problems == []
    handled = set(Delivery.objects.filter(handler__startswith="subscriptions.").values_list("event__name", flat=True))
    assert handled == {"PaymentProcessed"}
