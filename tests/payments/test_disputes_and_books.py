"""Disputes: evidence sent through the gateway adapter, the sandbox bank deciding after a delay, the money
moving (withdrawn, reinstated or lost) and dated; refunds made in the gateway's dashboard and authorizations
the gateway let expire, learnt from signed webhooks, applied once."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from flowmart.events.models import OutboxEvent
from payments import selectors, services, webhooks
from payments.gateways.sandbox import SandboxGateway, sign_payload
from payments.models import Dispute, Payment, PaymentMovement, Refund, SandboxDispute, WebhookEvent
from tests.payments.factories import authorized_payment, captured_payment

pytestmark = pytest.mark.django_db


def open_sandbox_dispute(amount_minor: int = 8000) -> tuple[Payment, Dispute]:
    info = captured_payment(amount_minor=amount_minor, reference="order:FM-DSP1")
    payment = Payment.objects.get(pk=info.id)
    webhooks.sandbox_dispute_send(charge_id=payment.gateway_ref, event_type="charge.dispute.created", status="x")
    return payment, Dispute.objects.get(payment=payment)


def resigned(body: bytes) -> str:
    """The same event delivered again: a fresh (different) signature, as a gateway's redelivery has."""
    return sign_payload(body, secret=settings.SANDBOX_WEBHOOK_SECRET, timestamp=int(time.time()) - 5)


def movements(payment: Payment) -> list[tuple[str, int, int]]:
    rows = PaymentMovement.objects.filter(payment=payment).order_by("happened_at", "id")
    return [(m.kind, m.amount_minor, m.fee_minor) for m in rows]


def test_an_opened_dispute_withdraws_the_amount_and_the_fee(settings):
    settings.PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR = 1500
    payment, dispute = open_sandbox_dispute(8000)

    assert (dispute.amount_minor, dispute.fee_minor, dispute.status) == (8000, 1500, "open")
    assert movements(payment) == [("capture", 8000, 0), ("dispute_withdrawal", -8000, 1500)]
    assert OutboxEvent.objects.get(name="ChargebackOpened").payload["fee_minor"] == 1500


def test_evidence_goes_to_the_sandbox_and_the_bank_decides_after_the_delay(settings, finance_user):
    settings.PAYMENTS_SANDBOX_DISPUTE_DECISION_SECONDS = 120
    payment, dispute = open_sandbox_dispute(8000)

    submitted = services.dispute_evidence_submit(
        dispute_id=dispute.id,
        text="Delivered on 3 March, signed for by the cardholder.",
        file_description="Carrier's proof of delivery (PDF)",
        by=finance_user,
    )

    assert (submitted.evidence_status, submitted.evidence_submitted_by) == ("submitted", finance_user)
    at_bank = SandboxDispute.objects.get(pk=dispute.gateway_ref)
    assert at_bank.status == "under_review"
    assert at_bank.evidence == {
        "uncategorized_text": "Delivered on 3 March, signed for by the cardholder.\n\n"
        "Supporting document: Carrier's proof of delivery (PDF)"
    }
    assert OutboxEvent.objects.filter(name="DisputeEvidenceSubmitted").count() == 1
    assert webhooks.sandbox_disputes_decide() == 0  # not yet: the bank takes its time
    assert Dispute.objects.get(pk=dispute.pk).status == "open"

    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert webhooks.sandbox_disputes_decide() == 1
        assert webhooks.sandbox_disputes_decide() == 0  # decided once

    dispute.refresh_from_db()
    assert (dispute.status, dispute.loss_minor, dispute.fee_minor) == ("won", 0, 0)
    assert selectors.payment_get(payment_id=payment.id).status == "chargeback_won"
    assert movements(payment)[1:] == [("dispute_withdrawal", -8000, 1500), ("dispute_reinstatement", 8000, -1500)]
    resolved = OutboxEvent.objects.get(name="ChargebackResolved").payload
    assert (resolved["outcome"], resolved["loss_minor"], resolved["fee_minor"]) == ("won", 0, 0)


def test_losing_evidence_loses_the_dispute_and_the_loss_is_recorded(settings):
    settings.PAYMENTS_SANDBOX_DISPUTE_DECISION_SECONDS = 0
    payment, dispute = open_sandbox_dispute(8000)

    services.dispute_evidence_submit(dispute_id=dispute.id, text="losing_evidence")
    assert webhooks.sandbox_disputes_decide() == 1

    dispute.refresh_from_db()
    assert (dispute.status, dispute.loss_minor, dispute.fee_minor) == ("lost", 8000, 1500)
    assert selectors.payment_get(payment_id=payment.id).status == "chargeback_lost"
    assert movements(payment)[1:] == [("dispute_withdrawal", -8000, 1500)]  # nothing comes back
    resolved = OutboxEvent.objects.get(name="ChargebackResolved").payload
    assert (resolved["outcome"], resolved["loss_minor"], resolved["fee_minor"]) == ("lost", 8000, 1500)


def test_evidence_only_for_an_open_dispute_and_only_once():
    _, dispute = open_sandbox_dispute()
    with pytest.raises(services.DisputeEvidenceInvalid):
        services.dispute_evidence_submit(dispute_id=dispute.id, text="   ")
    services.dispute_evidence_submit(dispute_id=dispute.id, text="Delivered.")

    with pytest.raises(services.DisputeNotOpen):
        services.dispute_evidence_submit(dispute_id=dispute.id, text="Delivered, again.")
    webhooks.sandbox_dispute_resolve(dispute_ref=dispute.gateway_ref, charge_id=dispute.payment.gateway_ref, won=True)
    with pytest.raises(services.DisputeNotOpen):
        services.dispute_evidence_submit(dispute_id=dispute.id, text="Too late.")


def test_evidence_the_gateway_refuses_is_marked_failed_and_can_be_sent_again():
    _, dispute = open_sandbox_dispute()
    SandboxDispute.objects.filter(pk=dispute.gateway_ref).update(status="under_review")  # submitted elsewhere

    with pytest.raises(services.GatewayRefused):
        services.dispute_evidence_submit(dispute_id=dispute.id, text="Delivered.")

    dispute.refresh_from_db()
    assert (dispute.evidence_status, dispute.evidence_attempt) == ("failed", 1)
    assert "under_review" in dispute.evidence_error
    SandboxDispute.objects.filter(pk=dispute.gateway_ref).update(status="needs_response")
    assert services.dispute_evidence_submit(dispute_id=dispute.id, text="Delivered.").evidence_status == "submitted"
    assert Dispute.objects.get(pk=dispute.pk).evidence_attempt == 2  # a new key for the new attempt


# -- webhooks: refunds made in the gateway's dashboard ------------------------------------------
def test_a_dashboard_refund_is_booked_once_even_when_redelivered():
    info = captured_payment(amount_minor=5000, reference="order:FM-DASH")
    charge_id = Payment.objects.get(pk=info.id).gateway_ref
    body, signature = SandboxGateway().dashboard_refund(charge_id=charge_id, amount_minor=1200)

    webhooks.sandbox_webhook_deliver(body, signature)
    webhooks.sandbox_webhook_deliver(body, resigned(body))  # again

    payment = selectors.payment_get(payment_id=info.id)
    assert (payment.status, payment.refunded_minor) == ("partially_refunded", 1200)
    refund = Refund.objects.get()
    assert (refund.status, refund.amount_minor, refund.reason) == (
        "succeeded",
        1200,
        "Refunded in the payment provider's dashboard",
    )
    event = OutboxEvent.objects.get(name="PaymentRefunded")
    assert (event.payload["origin"], event.payload["refund_id"], event.payload["amount_minor"]) == (
        "gateway",
        str(refund.id),
        1200,
    )
    assert WebhookEvent.objects.get().deliveries == 2
    assert movements(Payment.objects.get(pk=info.id))[1:] == [("refund", -1200, 0)]


def test_the_webhook_of_a_refund_we_made_is_not_booked_twice():
    info = captured_payment(amount_minor=5000)
    ours = services.payment_refund(payment_id=info.id, amount_minor=700, reason="late", idempotency_key="r-1")
    refund = Refund.objects.get(pk=ours.id)
    for n, metadata in enumerate([{"flowmart_refund_id": str(refund.id)}, {}]):  # by our metadata, by its id
        body = json.dumps(
            {
                "id": f"evt_ours_{n}",
                "type": "refund.created",
                "data": {
                    "object": {
                        "id": refund.gateway_ref,
                        "object": "refund",
                        "payment_intent": refund.payment.gateway_ref,
                        "amount": 700,
                        "status": "succeeded",
                        "metadata": metadata,
                    }
                },
            }
        ).encode()
        webhooks.sandbox_webhook_deliver(body, sign_payload(body, secret=settings.SANDBOX_WEBHOOK_SECRET))

    assert selectors.payment_get(payment_id=info.id).refunded_minor == 700
    assert Refund.objects.count() == 1
    assert OutboxEvent.objects.filter(name="PaymentRefunded").count() == 1
    assert list(WebhookEvent.objects.order_by("id").values_list("status", flat=True)) == ["ignored", "ignored"]


# -- webhooks: authorizations the gateway let expire --------------------------------------------
def test_an_expired_authorization_marks_the_payment_expired_once():
    info = authorized_payment(amount_minor=3000, reference="order:FM-EXP")
    charge_id = Payment.objects.get(pk=info.id).gateway_ref
    body, signature = SandboxGateway().authorization_expire(charge_id=charge_id)

    first = webhooks.sandbox_webhook_deliver(body, signature)
    webhooks.sandbox_webhook_deliver(body, resigned(body))

    assert first.status == "processed"
    assert selectors.payment_get(payment_id=info.id).status == "expired"
    event = OutboxEvent.objects.get(name="PaymentAuthorizationExpired")
    assert (event.correlation_id, event.payload["amount_minor"]) == ("FM-EXP", 3000)
    history = [e.to_state for e in selectors.payment_history(payment_id=info.id)]
    assert history[-1] == "expired"


def test_a_cancel_we_asked_for_is_not_an_expiry():
    info = authorized_payment()
    services.payment_void(payment_id=info.id, reason="cancelled")
    charge_id = Payment.objects.get(pk=info.id).gateway_ref
    body = json.dumps(
        {
            "id": "evt_cancel",
            "type": "payment_intent.canceled",
            "data": {"object": {"id": charge_id, "status": "canceled", "cancellation_reason": "requested_by_customer"}},
        }
    ).encode()
    assert (
        webhooks.sandbox_webhook_deliver(body, sign_payload(body, secret=settings.SANDBOX_WEBHOOK_SECRET)).status
        == "ignored"
    )
    assert selectors.payment_get(payment_id=info.id).status == "voided"
