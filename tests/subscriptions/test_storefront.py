import pytest

from subscriptions.models import Subscription
from subscriptions.services import subscription_subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(client, customer):
    client.force_login(customer)
    return client


def test_plans_page_lists_plans_and_perks(client, monthly, yearly):
    page = client.get("/membership/").content.decode()
    assert "FlowMart Plus" in page
    assert "$9.99</strong> / month" in page
    assert "$99.00</strong> / year" in page
    assert "10% off member prices" in page


def test_subscribe_from_the_storefront(shopper, customer, monthly):
    response = shopper.post("/membership/join/plus-monthly/", {"payment_method": "pm_card_visa"}, follow=True)
    assert response.redirect_chain[-1][0] == "/membership/manage/"
    page = response.content.decode()
    assert "Welcome to FlowMart Plus!" in page
    assert "Active" in page
    assert Subscription.objects.get(user=customer).status == "active"
    member = shopper.get("/membership/").content.decode()
    assert "You are a <strong>Plus</strong> member (active)" in member


def test_declined_card_shows_a_form_error(shopper, monthly):
    response = shopper.post(
        "/membership/join/plus-monthly/", {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_subscribe_needs_login(client, monthly):
    response = client.get("/membership/join/plus-monthly/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_manage_pause_resume_cancel(shopper, customer, monthly):
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    assert "Membership paused." in shopper.post("/membership/manage/pause/", follow=True).content.decode()
    assert "Paused since" in shopper.get("/membership/manage/").content.decode()
    assert "Welcome back!" in shopper.post("/membership/manage/resume/", follow=True).content.decode()
    page = shopper.post("/membership/manage/cancel/", {"at_period_end": "on"}, follow=True).content.decode()
    assert "Your membership will end at the end of the period." in page
    page = shopper.post("/membership/manage/pause/", follow=True).content.decode()
    assert "it cannot be paused" in page
    page = shopper.post("/membership/manage/cancel/", follow=True).content.decode()
    assert "Your membership is cancelled." in page
    assert Subscription.objects.get(user=customer).status == "cancelled"


def test_change_plan_from_the_storefront(shopper, customer, monthly, premium):
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    page = shopper.post("/membership/manage/change-plan/", {"plan": "premium-monthly"}, follow=True).content.decode()
    assert "Your plan has been changed." in page
    assert Subscription.objects.get(user=customer).plan.code == "premium-monthly"


def test_invoice_view_and_download_own_only(shopper, customer, other_customer, monthly):
    sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    number = sub.invoices.get().number
    page = shopper.get(f"/membership/invoices/{number}/").content.decode()
    assert f"Invoice {number}" in page
    assert "$9.99" in page
    download = shopper.get(f"/membership/invoices/{number}/download/")
    assert download["Content-Disposition"] == f'attachment; filename="{number}.html"'
    assert "Total due" in download.content.decode()
    theirs = subscription_subscribe(user=other_customer, plan=monthly, payment_method="pm_card_visa")
    other_number = theirs.invoices.get().number
    assert shopper.get(f"/membership/invoices/{other_number}/").status_code == 404
    assert shopper.get(f"/membership/invoices/{other_number}/download/").status_code == 404


def test_update_card_from_the_storefront(shopper, customer, monthly):
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    page = shopper.post("/membership/manage/card/", {"payment_method": "pm_card_amex"}, follow=True).content.decode()
    assert "Your card has been updated." in page
    assert "amex •••• 8431" in page
    bad = shopper.post("/membership/manage/card/", {"payment_method": "nope"}, follow=True).content.decode()
    assert "does not know this payment method" in bad


def test_manage_page_previews_what_a_plan_change_costs(shopper, customer, monthly, premium, basic):
    from datetime import UTC, datetime

    import time_machine

    with time_machine.travel(datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    with time_machine.travel(datetime(2026, 4, 16, tzinfo=UTC), tick=False):
        page = shopper.get("/membership/manage/").content.decode()
    assert "FlowMart Premium — $19.99 / month (pay $5.00 now)" in page
    assert "FlowMart Basic — $4.99 / month ($2.50 credit)" in page


def test_the_card_for_renewals_is_the_card_element(shopper, customer, monthly):
    """The manage page's card form posts only the token; its card inputs have no name."""
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    page = shopper.get("/membership/manage/").content.decode()
    assert "Card token" not in page
    assert '<input type="hidden" name="payment_method" value="" data-card-token>' in page
    assert '<input type="text" id="card-number" data-card-number inputmode="numeric" autocomplete="cc-number"' in page
    assert "/static/payments/sandbox-elements.js" in page
    empty = shopper.post("/membership/manage/card/", {"payment_method": ""}, follow=True).content.decode()
    assert "Enter your card details." in empty
