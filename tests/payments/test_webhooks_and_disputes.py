"""Gateway webhooks (signature, timestamp, replay, idempotency) and the chargebacks they bring."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings

from flowmart.events.models import OutboxEvent
from payments import selectors, webhooks
from payments.gateways.sandbox import SandboxGateway, sign_payload
from payments.models import Dispute, Payment, WebhookEvent
from tests.payments.factories import captured_payment

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/webhooks/sandbox/"


def dispute_body(
    payment_id, *, event_id="evt_1", event_type="charge.dispute.created", status="needs_response"
) -> bytes:
    charge_id = Payment.objects.get(pk=payment_id).gateway_ref
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "data": {
                "object": {
                    "id": "dp_1",
                    "object": "dispute",
                    "charge": charge_id,
                    "payment_intent": charge_id,
                    "amount": 10000,
                    "currency": "usd",
                    "reason": "fraudulent",
                    "status": status,
                }
            },
        }
    ).encode()


def post(client, body: bytes, signature: str | None):
    headers = {"HTTP_SANDBOX_SIGNATURE": signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", **headers)


def sign(body: bytes, **kwargs) -> str:
    return sign_payload(body, secret=settings.SANDBOX_WEBHOOK_SECRET, **kwargs)


def test_a_signed_dispute_webhook_opens_a_chargeback(api_client):
    payment = captured_payment(amount_minor=10000, reference="order:FM-DSP")
    body = dispute_body(payment.id)

    response = post(api_client, body, sign(body))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert WebhookEvent.objects.get().status == "received"  # acknowledged first, processed after
    assert webhooks.webhook_events_process_pending() == 1

    dispute = Dispute.objects.get()
    assert (dispute.gateway_ref, dispute.amount_minor, dispute.currency, dispute.status) == (
        "dp_1",
        10000,
        "USD",
        "open",
    )
    assert selectors.payment_get(payment_id=payment.id).status == "disputed"
    event = OutboxEvent.objects.get(name="ChargebackOpened")
    assert (event.correlation_id, event.payload["reason"], event.payload["amount_minor"]) == (
        "FM-DSP",
        "fraudulent",
        10000,
    )


@pytest.mark.parametrize(("outcome", "final"), [("won", "chargeback_won"), ("lost", "chargeback_lost")])
def test_a_closed_dispute_resolves_the_chargeback(api_client, outcome, final):
    payment = captured_payment(amount_minor=10000)
    opened = dispute_body(payment.id)
    post(api_client, opened, sign(opened))
    closed = dispute_body(payment.id, event_id="evt_2", event_type="charge.dispute.closed", status=outcome)
    assert post(api_client, closed, sign(closed)).status_code == 200
    webhooks.webhook_events_process_pending()

    assert Dispute.objects.get().status == outcome
    assert selectors.payment_get(payment_id=payment.id).status == final
    event = OutboxEvent.objects.get(name="ChargebackResolved")
    assert event.payload["outcome"] == outcome
    history = [e.to_state for e in selectors.payment_history(payment_id=payment.id)]
    assert history[-2:] == ["disputed", final]


def test_a_replayed_delivery_is_refused_and_logged(api_client, caplog):
    payment = captured_payment()
    body = dispute_body(payment.id)
    signature = sign(body)
    assert post(api_client, body, signature).status_code == 200

    response = post(api_client, body, signature)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "webhook_rejected"
    assert "replayed" in caplog.text
    assert WebhookEvent.objects.get().deliveries == 1


def test_a_genuine_redelivery_is_acknowledged_and_processed_once(api_client):
    payment = captured_payment()
    body = dispute_body(payment.id)
    post(api_client, body, sign(body, timestamp=int(time.time()) - 60))
    webhooks.webhook_events_process_pending()

    response = post(api_client, body, sign(body))

    assert response.json() == {"received": True, "duplicate": True}
    assert WebhookEvent.objects.get().deliveries == 2
    assert webhooks.webhook_events_process_pending() == 0
    assert OutboxEvent.objects.filter(name="ChargebackOpened").count() == 1


def test_forged_signatures_are_refused_and_logged(api_client, caplog):
    payment = captured_payment()
    body = dispute_body(payment.id)
    forged = sign_payload(body, secret="whsec_not_ours")

    response = post(api_client, body, forged)

    assert response.status_code == 400
    assert response.json()["detail"] == "The webhook signature is invalid or too old."
    assert "payments webhook refused" in caplog.text
    assert WebhookEvent.objects.count() == 0


def test_a_tampered_body_is_refused(api_client):
    payment = captured_payment()
    body = dispute_body(payment.id)
    signature = sign(body)
    assert post(api_client, body.replace(b"10000", b"99999"), signature).status_code == 400


def test_stale_signatures_are_refused(api_client, settings):
    settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS = 300
    payment = captured_payment()
    body = dispute_body(payment.id)

    response = post(api_client, body, sign(body, timestamp=int(time.time()) - 301))

    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_signatures_dated_in_the_future_are_refused(api_client, settings):
    settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS = 300
    payment = captured_payment()
    body = dispute_body(payment.id)
    ten_years = 10 * 365 * 24 * 3600

    response = post(api_client, body, sign(body, timestamp=int(time.time()) + ten_years))

    assert response.status_code == 400
    assert response.json()["code"] == "webhook_rejected"
    assert WebhookEvent.objects.count() == 0
    # A clock a little ahead of ours is still within the tolerance.
    assert post(api_client, body, sign(body, timestamp=int(time.time()) + 60)).status_code == 200


def test_missing_signature_malformed_body_and_unknown_gateway(api_client):
    assert post(api_client, b"{}", None).status_code == 400
    garbage = b"not json"
    assert post(api_client, garbage, sign(garbage)).status_code == 400
    response = api_client.post("/api/v1/payments/webhooks/paypal/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_gateway"


def test_unknown_event_types_are_acknowledged_and_ignored(api_client):
    body = json.dumps({"id": "evt_x", "type": "payment_intent.created", "data": {"object": {"id": "pi_1"}}}).encode()
    assert post(api_client, body, sign(body)).status_code == 200
    webhooks.webhook_events_process_pending()
    assert WebhookEvent.objects.get().status == "ignored"


@pytest.mark.worker
def test_create_dispute_card_brings_a_signed_dispute_later(celery_worker, wait_until):
    """pm_card_createDispute: captured fine, then the sandbox's network sends a signed dispute webhook."""
    payment = captured_payment(amount_minor=4200, payment_method="pm_card_createDispute", reference="order:FM-CB")

    wait_until(lambda: Dispute.objects.filter(payment_id=payment.id).exists(), message="the dispute webhook")

    assert Payment.objects.get(pk=payment.id).status == "disputed"
    event = WebhookEvent.objects.get()
    assert (event.gateway, event.type, event.status) == ("sandbox", "charge.dispute.created", "processed")
    dispute = Dispute.objects.get()
    assert (dispute.amount_minor, dispute.reason) == (4200, "fraudulent")

    # Sandbox: the bank's verdict, also as a signed webhook.
    webhooks.sandbox_dispute_resolve(dispute_ref=dispute.gateway_ref, charge_id=event.payload["charge"], won=True)
    assert Payment.objects.get(pk=payment.id).status == "chargeback_won"


def test_sandbox_webhooks_carry_a_verifiable_signature():
    payment = captured_payment()
    charge_id = Payment.objects.get(pk=payment.id).gateway_ref
    body, signature = SandboxGateway().dispute_webhook(
        charge_id=charge_id, event_type="charge.dispute.created", status="x"
    )
    message = SandboxGateway().parse_webhook(payload=body, signature=signature)
    assert (message.type, message.data["charge"]) == ("charge.dispute.created", charge_id)
