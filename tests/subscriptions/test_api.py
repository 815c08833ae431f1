from datetime import UTC, datetime

import pytest
import time_machine

from subscriptions.models import Subscription
from subscriptions.services import subscription_subscribe

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_plans_are_public(api_client, monthly, yearly):
    response = api_client.get("/api/v1/plans/")
    assert response.status_code == 200
    assert [(p["code"], p["price_minor"], p["interval"], p["percent_off"]) for p in response.json()] == [
        ("plus-monthly", 999, "monthly", 10),
        ("plus-yearly", 9900, "yearly", 10),
    ]


@time_machine.travel(T0, tick=False)
def test_subscribe_and_read_current(customer_client, monthly):
    response = customer_client.post(
        "/api/v1/subscriptions/", {"plan": "plus-monthly", "payment_method": "pm_card_visa"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["plan"]["code"], body["current_period_end"]) == (
        "active",
        "plus-monthly",
        "2026-04-01T00:00:00Z",
    )
    current = customer_client.get("/api/v1/subscriptions/current/")
    assert (current.status_code, current.json()["id"]) == (200, body["id"])


def test_subscribe_with_the_same_idempotency_key_replays(customer_client, monthly):
    payload = {"plan": "plus-monthly", "payment_method": "pm_card_visa"}
    first = customer_client.post("/api/v1/subscriptions/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = customer_client.post("/api/v1/subscriptions/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert Subscription.objects.count() == 1


def test_declined_card_is_a_402_problem(customer_client, monthly):
    response = customer_client.post(
        "/api/v1/subscriptions/",
        {"plan": "plus-monthly", "payment_method": "pm_card_chargeDeclinedInsufficientFunds"},
        format="json",
    )
    assert response.status_code == 402
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "payment_declined"


def test_bad_input_is_a_400_problem_not_a_500(customer_client, monthly):
    response = customer_client.post("/api/v1/subscriptions/", {"plan": ""}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"plan", "payment_method"}
    unknown = customer_client.post(
        "/api/v1/subscriptions/", {"plan": "gold", "payment_method": "pm_card_visa"}, format="json"
    )
    assert (unknown.status_code, unknown.json()["code"]) == (400, "plan_not_available")


def test_second_subscribe_is_409(customer_client, customer, monthly):
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    response = customer_client.post(
        "/api/v1/subscriptions/", {"plan": "plus-monthly", "payment_method": "pm_card_visa"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "already_subscribed")


def test_anonymous_cannot_subscribe(api_client, monthly):
    response = api_client.post(
        "/api/v1/subscriptions/", {"plan": "plus-monthly", "payment_method": "pm_card_visa"}, format="json"
    )
    assert response.status_code in (401, 403)


def test_pause_resume_change_plan_cancel(customer_client, customer, monthly, premium):
    sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    url = f"/api/v1/subscriptions/{sub.public_id}/"
    assert customer_client.post(url + "pause/", {}, format="json").json()["status"] == "paused"
    again = customer_client.post(url + "pause/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert customer_client.post(url + "resume/").json()["status"] == "active"
    changed = customer_client.post(url + "change-plan/", {"plan": "premium-monthly"}, format="json")
    assert (changed.status_code, changed.json()["plan"]["code"]) == (200, "premium-monthly")
    scheduled = customer_client.post("/api/v1/subscriptions/current/cancel/", {"at_period_end": True}, format="json")
    assert (scheduled.json()["status"], scheduled.json()["cancel_at_period_end"]) == ("active", True)
    cancelled = customer_client.post(url + "cancel/", {}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    assert customer_client.get("/api/v1/subscriptions/current/").status_code == 404


def test_other_customers_subscription_and_invoices_are_404(customer_client, other_customer, monthly):
    sub = subscription_subscribe(user=other_customer, plan=monthly, payment_method="pm_card_visa")
    number = sub.invoices.get().number
    assert customer_client.get(f"/api/v1/subscriptions/{sub.public_id}/").status_code == 404
    assert customer_client.post(f"/api/v1/subscriptions/{sub.public_id}/cancel/", {}, format="json").status_code == 404
    assert customer_client.get(f"/api/v1/invoices/{number}/").status_code == 404
    assert customer_client.get("/api/v1/invoices/").json()["count"] == 0
    assert customer_client.get("/api/v1/subscriptions/not-a-uuid/").status_code == 404


def test_invoices_list_own(customer_client, customer, monthly):
    sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    body = customer_client.get("/api/v1/invoices/").json()
    assert body["count"] == 1
    invoice = body["results"][0]
    assert (invoice["number"], invoice["status"], invoice["amount_minor"], invoice["subscription"]) == (
        sub.invoices.get().number,
        "paid",
        999,
        str(sub.public_id),
    )
    assert invoice["lines"][0]["amount_minor"] == 999


def test_schema_is_valid(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/subscriptions/{subscription_id}/change-plan/" in response.content


def test_change_plan_retry_with_the_same_key_charges_once(customer_client, customer, monthly, premium):
    sub = subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    url = f"/api/v1/subscriptions/{sub.public_id}/change-plan/"
    first = customer_client.post(url, {"plan": "premium-monthly"}, format="json", HTTP_IDEMPOTENCY_KEY="chg-1")
    again = customer_client.post(url, {"plan": "premium-monthly"}, format="json", HTTP_IDEMPOTENCY_KEY="chg-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert sub.invoices.filter(billing_reason="plan_change").count() == 1
    same_plan = customer_client.post(url, {"plan": "premium-monthly"}, format="json")
    assert (same_plan.status_code, same_plan.json()["code"]) == (400, "same_plan")


def test_update_payment_method(customer_client, customer, monthly):
    subscription_subscribe(user=customer, plan=monthly, payment_method="pm_card_visa")
    url = "/api/v1/subscriptions/current/payment-method/"
    ok = customer_client.post(url, {"payment_method": "pm_card_mastercard"}, format="json")
    assert (ok.status_code, ok.json()["payment_method_label"]) == (200, "mastercard •••• 4444")
    bad = customer_client.post(url, {"payment_method": "4242424242424242"}, format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_payment_method")
