import pytest

from subscriptions.selectors import MemberPerks, member_perks_for_user
from subscriptions.services import subscription_cancel, subscription_pause
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

NONE = MemberPerks(tier_name=None, free_shipping=False, percent_off=0, early_access=False)


def test_active_member_gets_the_tier_perks(customer, monthly):
    SubscriptionFactory(user=customer, plan=monthly)
    expected = MemberPerks(tier_name="Plus", free_shipping=True, percent_off=10, early_access=True)
    assert member_perks_for_user(user_id=customer.public_id) == expected
    assert member_perks_for_user(user_id=str(customer.public_id)) == expected
    assert member_perks_for_user(user_id=customer.pk) == expected
    assert expected.is_member


@pytest.mark.parametrize("user_id", [None, "", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_anonymous_users_get_no_perks(user_id, monthly):
    assert member_perks_for_user(user_id=user_id) == NONE


def test_other_customers_membership_does_not_count(customer, other_customer, monthly):
    SubscriptionFactory(user=other_customer, plan=monthly)
    assert member_perks_for_user(user_id=customer.public_id) == NONE


def test_paused_and_cancelled_members_get_no_perks(customer, monthly):
    sub = SubscriptionFactory(user=customer, plan=monthly)
    subscription_pause(subscription=sub)
    assert member_perks_for_user(user_id=customer.public_id) == NONE
    subscription_cancel(subscription=sub)
    assert member_perks_for_user(user_id=customer.public_id) == NONE


def test_perks_follow_the_tier_as_staff_edit_it(customer, monthly):
    SubscriptionFactory(user=customer, plan=monthly)
    monthly.tier.percent_off = 20
    monthly.tier.save()
    assert member_perks_for_user(user_id=customer.public_id).percent_off == 20
