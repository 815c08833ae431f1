"""``/api/v1/payments/`` and ``/api/v1/payment-methods/``: customers see only their own."""

from __future__ import annotations

import pytest

from payments import services
from tests.payments.factories import authorized_payment, captured_payment

pytestmark = pytest.mark.django_db


def test_a_customer_lists_their_payments_for_a_reference(customer, customer_client, other_customer):
    mine = captured_payment(reference="order:FM-MINE", amount_minor=4200, customer_user_id=customer.public_id)
    services.payment_refund(payment_id=mine.id, amount_minor=200, reason="scratch", idempotency_key="r1")
    authorized_payment(reference="order:FM-MINE2", customer_user_id=customer.public_id)
    authorized_payment(reference="order:FM-THEIRS", customer_user_id=other_customer.public_id)

    response = customer_client.get("/api/v1/payments/", {"reference": "order:FM-MINE"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [payment] = body["results"]
    assert payment["id"] == str(mine.id)
    assert {k: payment[k] for k in ("reference", "status", "amount_minor", "captured_minor", "refunded_minor")} == {
        "reference": "order:FM-MINE",
        "status": "partially_refunded",
        "amount_minor": 4200,
        "captured_minor": 4200,
        "refunded_minor": 200,
    }
    assert (payment["brand"], payment["last4"], payment["currency"]) == ("visa", "4242", "USD")
    assert [(r["amount_minor"], r["status"]) for r in payment["refunds"]] == [(200, "succeeded")]
    assert customer_client.get("/api/v1/payments/").json()["count"] == 2


def test_someone_elses_payment_is_404(customer_client, other_customer):
    theirs = authorized_payment(reference="order:FM-THEIRS", customer_user_id=other_customer.public_id)
    response = customer_client.get(f"/api/v1/payments/{theirs.id}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert customer_client.get("/api/v1/payments/", {"reference": "order:FM-THEIRS"}).json()["count"] == 0


def test_a_customer_reads_one_of_their_payments(customer, customer_client):
    mine = authorized_payment(customer_user_id=customer.public_id)
    response = customer_client.get(f"/api/v1/payments/{mine.id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "authorized"


def test_anonymous_callers_must_sign_in(api_client):
    assert api_client.get("/api/v1/payments/").status_code in (401, 403)
    assert api_client.get("/api/v1/payment-methods/").status_code in (401, 403)


def test_saving_listing_and_removing_cards(customer_client):
    response = customer_client.post("/api/v1/payment-methods/", {"token": "pm_card_visa"}, format="json")
    assert response.status_code == 201
    saved = response.json()
    assert {k: saved[k] for k in ("token", "brand", "last4", "exp_month", "exp_year")} == {
        "token": "pm_card_visa",
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2034,
    }
    assert [m["id"] for m in customer_client.get("/api/v1/payment-methods/").json()] == [saved["id"]]
    assert customer_client.delete(f"/api/v1/payment-methods/{saved['id']}/").status_code == 204
    assert customer_client.get("/api/v1/payment-methods/").json() == []
    # Removing it again (or another customer's card) is a 404, not a silent 204.
    response = customer_client.delete(f"/api/v1/payment-methods/{saved['id']}/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"token": "4242424242424242"}, "invalid_payment_method"),
        ({"token": "pm_card_nope"}, "invalid_payment_method"),
        ({}, "invalid"),
    ],
)
def test_bad_cards_are_problem_details(customer_client, body, code):
    response = customer_client.post("/api/v1/payment-methods/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_the_schema_stays_valid(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/payments/webhooks/{gateway}/" in response.content
