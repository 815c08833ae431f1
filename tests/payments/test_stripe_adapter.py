"""The Stripe adapter, through the official SDK, against a local stand-in for Stripe's HTTP API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from payments import reconciliation, selectors, services, webhooks
from payments.gateways.sandbox import sign_payload
from payments.models import Payment
from tests.payments.factories import authorized_payment, captured_payment
from tests.payments.stripe_standin import StripeStandIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_api(settings):
    with StripeStandIn() as standin:
        settings.PAYMENTS_GATEWAY = "stripe"
        settings.STRIPE_API_BASE = standin.url
        settings.STRIPE_API_KEY = "sk_test_standin"
        settings.STRIPE_WEBHOOK_SECRET = "whsec_standin"
        settings.STRIPE_TIMEOUT_SECONDS = 5
        yield standin


def test_authorize_creates_a_manual_capture_payment_intent(stripe_api):
    info = authorized_payment(amount_minor=2500, reference="order:FM-S1")

    assert (info.status, info.brand, info.last4) == ("authorized", "visa", "4242")
    payment = Payment.objects.get()
    assert (payment.gateway, payment.gateway_ref) == ("stripe", "pi_1")
    [request] = stripe_api.requests
    assert request["params"]["capture_method"] == "manual"
    assert request["params"]["confirm"] == "true"
    assert (request["params"]["amount"], request["params"]["currency"]) == ("2500", "usd")
    assert request["idempotency_key"] == f"authorize-{payment.id}"


def test_capture_and_refund(stripe_api):
    payment = captured_payment(amount_minor=2500)
    refund = services.payment_refund(payment_id=payment.id, amount_minor=1000, reason="late", idempotency_key="r")

    assert refund.status == "succeeded"
    assert selectors.payment_get(payment_id=payment.id).status == "partially_refunded"
    intent = stripe_api.intents["pi_1"]
    assert (intent["status"], intent["amount_received"], intent["latest_charge"]["amount_refunded"]) == (
        "succeeded",
        2500,
        1000,
    )
    posts = [r for r in stripe_api.requests if r["method"] == "POST"]
    assert all(r["idempotency_key"] for r in posts)


def test_void_cancels_the_intent(stripe_api):
    payment = authorized_payment()
    assert services.payment_void(payment_id=payment.id, reason="cancelled").status == "voided"
    assert stripe_api.intents["pi_1"]["status"] == "canceled"


def test_declines_carry_stripes_decline_code(stripe_api):
    with pytest.raises(services.PaymentDeclined) as exc:
        authorized_payment(payment_method="pm_card_chargeDeclinedInsufficientFunds")
    assert exc.value.extra["decline_code"] == "insufficient_funds"
    payment = Payment.objects.get()
    assert (payment.status, payment.decline_code, payment.gateway_ref) == ("failed", "insufficient_funds", "pi_1")


def test_unknown_payment_method(stripe_api):
    with pytest.raises(services.InvalidPaymentMethod):
        authorized_payment(payment_method="pm_unknown")


def test_lost_responses_are_retried_and_money_moves_once(stripe_api):
    stripe_api.drop_first_response_of = {"authorize", "capture", "refund"}

    payment = captured_payment(amount_minor=3000)
    services.payment_refund(payment_id=payment.id, amount_minor=500, reason="x", idempotency_key="r-1")

    assert len(stripe_api.intents) == 1
    intent = stripe_api.intents["pi_1"]
    assert (intent["amount_received"], intent["latest_charge"]["amount_refunded"]) == (3000, 500)
    operations = [r["operation"] for r in stripe_api.requests if r["method"] == "POST"]
    assert operations == ["authorize", "authorize", "capture", "capture", "refund", "refund"]
    keys = [r["idempotency_key"] for r in stripe_api.requests if r["method"] == "POST"]
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[4] == keys[5]
    assert selectors.payment_get(payment_id=payment.id).refunded_minor == 500


def test_saved_card_display_data_comes_from_stripe(stripe_api, customer):
    method = services.payment_method_attach(user_id=str(customer.public_id), token="pm_card_mastercard")
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("mastercard", "4444", 12, 2034)


def test_stripe_webhooks_are_verified_with_the_sdk(stripe_api, api_client):
    payment = captured_payment(amount_minor=2500)
    body = json.dumps(
        {
            "id": "evt_stripe_1",
            "object": "event",
            "type": "charge.dispute.created",
            "api_version": "2024-06-20",
            "data": {
                "object": {
                    "id": "dp_9",
                    "object": "dispute",
                    "charge": "ch_1",
                    "payment_intent": "pi_1",
                    "amount": 2500,
                    "currency": "usd",
                    "reason": "product_not_received",
                    "status": "needs_response",
                }
            },
        }
    ).encode()
    url = "/api/v1/payments/webhooks/stripe/"

    forged = api_client.post(
        url, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign_payload(body, secret="whsec_x")
    )
    assert forged.status_code == 400
    ok = api_client.post(
        url,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, secret="whsec_standin"),
    )
    assert ok.status_code == 200
    webhooks.webhook_events_process_pending()
    assert selectors.payment_get(payment_id=payment.id).status == "disputed"


def test_reconciliation_reads_stripe(stripe_api):
    payment = captured_payment(amount_minor=2500)
    stripe_api.intents["pi_1"]["latest_charge"]["amount_refunded"] = 700  # refunded in Stripe's dashboard

    report = reconciliation.reconciliation_run(day=timezone.now().date())

    assert (report.gateway, report.gateway_charges, report.mismatch_count) == ("stripe", 1, 1)
    mismatch = report.mismatches.get()
    assert (mismatch.kind, mismatch.payment_id, mismatch.flowmart_value, mismatch.gateway_value) == (
        "refunded",
        payment.id,
        "0",
        "700",
    )
    assert reconciliation.reconciliation_run(day=timezone.now().date() - timedelta(days=1)).mismatch_count == 0


def test_dispute_evidence_is_submitted_through_stripes_dispute_update(stripe_api):
    payment = captured_payment(amount_minor=2500)
    dispute = services.dispute_open(
        gateway="stripe", charge_id="pi_1", dispute_ref="dp_9", amount_minor=2500, currency="usd", reason="fraudulent"
    )
    stripe_api.disputes["dp_9"] = {"id": "dp_9", "object": "dispute", "status": "needs_response", "amount": 2500}

    submitted = services.dispute_evidence_submit(
        dispute_id=dispute.id, text="winning_evidence", file_description="signed delivery note"
    )

    assert submitted.evidence_status == "submitted"
    [request] = [r for r in stripe_api.requests if r["operation"] == "dispute_update"]
    assert (request["method"], request["path"], request["params"]["submit"]) == ("POST", "/v1/disputes/dp_9", "true")
    assert request["params"]["evidence"] == {
        "uncategorized_text": "winning_evidence\n\nSupporting document: signed delivery note"
    }
    assert request["idempotency_key"] == f"dispute-evidence-{dispute.id}-1"
    assert stripe_api.disputes["dp_9"]["status"] == "under_review"
    assert selectors.payment_get(payment_id=payment.id).status == "disputed"


def test_reconciliation_compares_stripes_balance_transactions_by_day(stripe_api):
    payment = captured_payment(amount_minor=2500)
    services.payment_refund(payment_id=payment.id, amount_minor=500, reason="x", idempotency_key="r-bt")
    stripe_api.balance_add(intent_id="pi_1", category="dispute", amount=-2000, fee=1500, source_id="dp_1")

    report = reconciliation.reconciliation_run(day=timezone.now().date())

    assert (report.gateway_movements, report.flowmart_movements) == (3, 2)
    mismatch = report.mismatches.get()
    assert (mismatch.kind, mismatch.gateway_ref, mismatch.flowmart_value, mismatch.gateway_value) == (
        "movement",
        "pi_1",
        "dispute_withdrawal 0 fee 0",
        "dispute_withdrawal -2000 fee 1500",
    )


def test_a_dashboard_refund_webhook_from_stripe_is_booked(stripe_api, api_client):
    payment = captured_payment(amount_minor=2500)
    body = json.dumps(
        {
            "id": "evt_refund_1",
            "object": "event",
            "type": "refund.created",
            "data": {
                "object": {
                    "id": "re_dash",
                    "object": "refund",
                    "amount": 900,
                    "payment_intent": "pi_1",
                    "status": "succeeded",
                    "metadata": {},
                }
            },
        }
    ).encode()
    ok = api_client.post(
        "/api/v1/payments/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, secret="whsec_standin"),
    )
    assert ok.status_code == 200
    webhooks.webhook_events_process_pending()

    info = selectors.payment_get(payment_id=payment.id)
    assert (info.status, info.refunded_minor) == ("partially_refunded", 900)
