import pytest

from subscriptions.models import Subscription
from subscriptions.services import subscription_subscribe
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_admin_lists_render(staff, monthly, customer):
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    for url in [
        "/admin/subscriptions/tier/",
        "/admin/subscriptions/plan/",
        "/admin/subscriptions/subscription/",
        "/admin/subscriptions/invoice/",
        "/admin/subscriptions/dunninginvoice/",
    ]:
        assert staff.get(url).status_code == 200, url


def test_subscription_page_shows_transitions_and_allowed_buttons(staff, monthly, customer):
    sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    page = staff.get(f"/admin/subscriptions/subscription/{sub.pk}/change/").content.decode()
    assert ">Pause</button>" in page
    assert ">Cancel now</button>" in page
    assert ">Resume</button>" not in page
    assert "activate" in page  # the transition log


def test_staff_pause_button_runs_the_transition_and_records_who(staff, staff_user, monthly, customer):
    sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    response = staff.post(f"/admin/subscriptions/subscription/{sub.pk}/staff-action/pause/", follow=True)
    assert "Pause: done." in response.content.decode()
    sub = Subscription.objects.get(pk=sub.pk)
    assert sub.status == "paused"
    assert sub.transitions.last().by == staff_user
    again = staff.post(f"/admin/subscriptions/subscription/{sub.pk}/staff-action/pause/", follow=True)
    assert "Pause: Only an active membership can be paused." in again.content.decode()


def test_dunning_list_shows_declined_open_invoices(staff, monthly):
    from datetime import timedelta

    from django.utils import timezone

    from subscriptions.billing import billing_run

    start = timezone.now() - timedelta(days=31)
    SubscriptionFactory(
        plan=monthly,
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
        payment_method="pm_card_chargeDeclinedInsufficientFunds",
    )
    billing_run()
    page = staff.get("/admin/subscriptions/dunninginvoice/").content.decode()
    assert "insufficient_funds" in page
    assert "Past due" in page


def test_customers_cannot_reach_the_admin(client, customer):
    client.force_login(customer)
    assert client.get("/admin/subscriptions/subscription/").status_code == 302
