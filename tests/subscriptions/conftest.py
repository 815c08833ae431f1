import pytest

from tests.subscriptions.factories import PlanFactory, TierFactory


@pytest.fixture
def plus_tier(db):
    return TierFactory(name="Plus", rank=1, free_shipping=True, percent_off=10, early_access=True)


@pytest.fixture
def basic_tier(db):
    return TierFactory(name="Basic", rank=0, free_shipping=True, percent_off=0, early_access=False)


@pytest.fixture
def monthly(plus_tier):
    return PlanFactory(code="plus-monthly", name="FlowMart Plus", tier=plus_tier, price_minor=999, trial_days=0)


@pytest.fixture
def yearly(plus_tier):
    return PlanFactory(
        code="plus-yearly", name="FlowMart Plus Yearly", tier=plus_tier, interval="yearly", price_minor=9900
    )


@pytest.fixture
def trial_plan(plus_tier):
    return PlanFactory(code="plus-trial", name="FlowMart Plus (trial)", tier=plus_tier, price_minor=999, trial_days=14)


@pytest.fixture
def basic(basic_tier):
    return PlanFactory(code="basic-monthly", name="FlowMart Basic", tier=basic_tier, price_minor=499)


@pytest.fixture
def premium(db):
    tier = TierFactory(name="Premium", rank=2, free_shipping=True, percent_off=15, early_access=True)
    return PlanFactory(code="premium-monthly", name="FlowMart Premium", tier=tier, price_minor=1999)
