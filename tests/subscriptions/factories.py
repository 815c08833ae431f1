from datetime import timedelta

import factory
from django.utils import timezone

from subscriptions.models import Plan, Subscription, SubscriptionStatus, Tier
from subscriptions.periods import period_end
from tests.users.factories import UserFactory


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("name",)

    name = "Plus"
    rank = 1
    free_shipping = True
    percent_off = 10
    early_access = True


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "plus-monthly"
    name = "FlowMart Plus"
    tier = factory.SubFactory(TierFactory)
    interval = Plan.Interval.MONTHLY
    price_minor = 999
    currency = "USD"
    trial_days = 0


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An active subscription whose current period started now (override the period to make it due)."""

    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = SubscriptionStatus.ACTIVE
    current_period_start = factory.LazyFunction(timezone.now)
    current_period_end = factory.LazyAttribute(
        lambda o: period_end(start=o.current_period_start, interval=o.plan.interval)
    )
    payment_method = "pm_card_visa"
    payment_method_label = "visa •••• 4242"


def due_subscription(*, days_ago: int = 31, **kwargs) -> Subscription:
    start = timezone.now() - timedelta(days=days_ago)
    return SubscriptionFactory(
        current_period_start=start, current_period_end=start + timedelta(days=days_ago), **kwargs
    )
