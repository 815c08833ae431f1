"""Authorize, capture, void and charge through the sandbox gateway: the contract other apps call."""

from __future__ import annotations

import uuid

import pytest

from flowmart.errors import InvalidTransition
from flowmart.events.models import OutboxEvent
from payments import selectors, services
from payments.models import Payment, PaymentTransition, SandboxCharge, SandboxRequest
from tests.payments.factories import authorized_payment, captured_payment

pytestmark = pytest.mark.django_db


def events(name: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(name=name).order_by("created_at"))


def test_authorize_holds_the_amount_and_tells_everyone():
    info = services.payment_authorize(
        services.PaymentRequest(
            reference="order:FM-7Q2K9D4X",
            amount_minor=12999,
            currency="USD",
            payment_method="pm_card_visa",
            idempotency_key="checkout-1",
            customer_email="casey@example.com",
        )
    )

    assert (info.status, info.amount_minor, info.captured_minor, info.currency) == ("authorized", 12999, 0, "USD")
    assert (info.brand, info.last4, info.decline_code) == ("visa", "4242", "")
    charge = SandboxCharge.objects.get()
    assert (charge.status, charge.amount_minor, charge.captured_minor) == ("authorized", 12999, 0)
    assert Payment.objects.get().gateway_ref == charge.id

    [initiated] = events("PaymentInitiated")
    assert initiated.correlation_id == "FM-7Q2K9D4X"
    assert initiated.payload["amount_minor"] == 12999
    [processed] = events("PaymentProcessed")
    assert processed.correlation_id == "FM-7Q2K9D4X"
    assert {k: processed.payload[k] for k in ("status", "payment_status", "decline_code", "last4")} == {
        "status": "succeeded",
        "payment_status": "authorized",
        "decline_code": "",
        "last4": "4242",
    }
    history = list(PaymentTransition.objects.values_list("from_state", "to_state"))
    assert history == [("", "pending"), ("pending", "authorized")]


@pytest.mark.parametrize(
    ("token", "brand", "last4"),
    [
        ("pm_card_mastercard", "mastercard", "4444"),
        ("pm_card_amex", "amex", "8431"),
        ("pm_card_discover", "discover", "1117"),
    ],
)
def test_other_brands_succeed(token, brand, last4):
    info = authorized_payment(payment_method=token)
    assert (info.status, info.brand, info.last4) == ("authorized", brand, last4)


def test_the_same_idempotency_key_returns_the_same_payment_and_charges_once():
    first = authorized_payment(reference="order:FM-A", idempotency_key="k-1")
    again = authorized_payment(reference="order:FM-A", idempotency_key="k-1")

    assert again.id == first.id
    assert Payment.objects.count() == 1
    assert SandboxCharge.objects.count() == 1
    assert len(events("PaymentProcessed")) == 1


def test_an_idempotency_key_cannot_be_reused_for_another_amount():
    authorized_payment(reference="order:FM-A", idempotency_key="k-1", amount_minor=100)
    with pytest.raises(services.PaymentIdempotencyConflict) as exc:
        authorized_payment(reference="order:FM-A", idempotency_key="k-1", amount_minor=200)
    assert exc.value.status == 409


@pytest.mark.parametrize(
    ("token", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "Your card has insufficient funds."),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "Your card has expired."),
    ],
)
def test_declined_cards_fail_with_their_reason(token, decline_code, message):
    with pytest.raises(services.PaymentDeclined) as exc:
        authorized_payment(reference="order:FM-D", payment_method=token, idempotency_key="d-1")

    assert (exc.value.code, exc.value.status, exc.value.detail) == ("payment_declined", 402, message)
    assert exc.value.extra["decline_code"] == decline_code
    payment = Payment.objects.get()
    assert (payment.status, payment.decline_code) == ("failed", decline_code)
    [processed] = events("PaymentProcessed")
    assert (processed.payload["status"], processed.payload["decline_code"], processed.payload["reason"]) == (
        "failed",
        decline_code,
        message,
    )
    # Retrying the same key gives the same answer without a second attempt at the gateway.
    with pytest.raises(services.PaymentDeclined):
        authorized_payment(reference="order:FM-D", payment_method=token, idempotency_key="d-1")
    assert SandboxCharge.objects.count() == 1


def test_unknown_payment_method_is_refused():
    with pytest.raises(services.InvalidPaymentMethod) as exc:
        authorized_payment(payment_method="pm_card_bogus")
    assert (exc.value.code, exc.value.status) == ("invalid_payment_method", 400)
    assert Payment.objects.get().decline_code == "invalid_payment_method"
    assert SandboxCharge.objects.count() == 0


def test_a_card_number_is_refused_before_anything_is_stored():
    with pytest.raises(services.InvalidPaymentMethod):
        authorized_payment(payment_method="4242 4242 4242 4242")
    assert Payment.objects.count() == 0
    assert OutboxEvent.objects.count() == 0


@pytest.mark.parametrize("amount", [0, -5, "100", 1.5, None])
def test_amounts_must_be_positive_integers(amount):
    with pytest.raises(services.InvalidAmount):
        authorized_payment(amount_minor=amount)
    assert Payment.objects.count() == 0


def test_gateway_down_fails_after_retries(settings):
    settings.PAYMENTS_GATEWAY_MAX_ATTEMPTS = 3
    with pytest.raises(services.GatewayUnavailable) as exc:
        authorized_payment(payment_method="pm_card_sandboxUnavailable")
    assert exc.value.status == 503
    payment = Payment.objects.get()
    assert (payment.status, payment.decline_code) == ("failed", "gateway_unavailable")
    assert SandboxCharge.objects.count() == 0


def test_timeouts_are_retried_with_the_same_key_and_money_moves_once():
    payment = authorized_payment(payment_method="pm_card_sandboxTimeout", amount_minor=5000)
    assert payment.status == "authorized"
    captured = services.payment_capture(payment_id=payment.id)
    assert captured.status == "captured"
    refund = services.payment_refund(payment_id=payment.id, amount_minor=2000, reason="damaged", idempotency_key="r-1")
    assert refund.status == "succeeded"

    charge = SandboxCharge.objects.get()
    assert (charge.amount_minor, charge.captured_minor, charge.refunded_minor) == (5000, 5000, 2000)
    # Each operation timed out once at the gateway (the work was done, the answer lost) and was replayed.
    assert sorted(SandboxRequest.objects.values_list("operation", "timeouts_served")) == [
        ("authorize", 1),
        ("capture", 1),
        ("refund", 1),
    ]
    assert selectors.payment_get(payment_id=payment.id).refunded_minor == 2000


def test_capture_in_full_and_retry_is_harmless():
    payment = authorized_payment(amount_minor=8000)
    captured = services.payment_capture(payment_id=payment.id)
    again = services.payment_capture(payment_id=payment.id)

    assert (captured.status, captured.captured_minor) == ("captured", 8000)
    assert again == captured
    assert SandboxCharge.objects.get().captured_minor == 8000
    [event] = events("PaymentCaptured")
    assert event.payload["captured_minor"] == 8000


def test_partial_capture_releases_the_rest():
    payment = authorized_payment(amount_minor=8000)
    captured = services.payment_capture(payment_id=payment.id, amount_minor=6500)
    assert (captured.status, captured.captured_minor, captured.amount_minor) == ("captured", 6500, 8000)
    assert PaymentTransition.objects.last().reason == "Captured (partial; the rest of the hold is released)"


def test_cannot_capture_more_than_authorized():
    payment = authorized_payment(amount_minor=8000)
    with pytest.raises(services.InvalidAmount):
        services.payment_capture(payment_id=payment.id, amount_minor=8001)
    assert selectors.payment_get(payment_id=payment.id).status == "authorized"


def test_void_releases_the_authorization():
    payment = authorized_payment(amount_minor=8000)
    voided = services.payment_void(payment_id=payment.id, reason="order cancelled")

    assert voided.status == "voided"
    assert SandboxCharge.objects.get().status == "voided"
    [event] = events("PaymentVoided")
    assert event.payload["reason"] == "order cancelled"
    assert services.payment_void(payment_id=payment.id, reason="again").status == "voided"
    with pytest.raises(InvalidTransition):
        services.payment_capture(payment_id=payment.id)


def test_a_captured_payment_cannot_be_voided():
    payment = captured_payment()
    with pytest.raises(InvalidTransition):
        services.payment_void(payment_id=payment.id, reason="too late")


def test_unknown_payment_is_not_found():
    with pytest.raises(services.PaymentNotFound):
        services.payment_capture(payment_id=uuid.uuid4())
    with pytest.raises(services.PaymentNotFound):
        services.payment_void(payment_id="not-a-uuid", reason="x")
    assert selectors.payment_get(payment_id=uuid.uuid4()) is None
    assert selectors.payment_get(payment_id="nope") is None


def test_charge_authorizes_and_captures_in_one_call():
    info = services.payment_charge(
        services.PaymentRequest(
            reference="invoice:INV-1",
            amount_minor=1999,
            currency="EUR",
            payment_method="pm_card_mastercard",
            idempotency_key="inv-1-attempt-1",
            correlation_id="sub:1234",
        )
    )
    assert (info.status, info.captured_minor, info.currency) == ("captured", 1999, "EUR")
    [processed] = events("PaymentProcessed")
    assert processed.correlation_id == "sub:1234"
    assert (processed.payload["status"], processed.payload["payment_status"]) == ("succeeded", "captured")
    history = list(Payment.objects.get().transitions.values_list("to_state", flat=True))
    assert history == ["pending", "authorized", "captured"]


def test_invoice_references_are_their_own_correlation_id():
    authorized_payment(reference="invoice:INV-9")
    assert events("PaymentInitiated")[0].correlation_id == "invoice:INV-9"


def test_payments_for_reference_lists_every_attempt_oldest_first():
    with pytest.raises(services.PaymentDeclined):
        authorized_payment(reference="order:FM-R", payment_method="pm_card_chargeDeclined")
    second = authorized_payment(reference="order:FM-R")
    authorized_payment(reference="order:FM-OTHER")

    listed = selectors.payments_for_reference(reference="order:FM-R")
    assert [p.status for p in listed] == ["failed", "authorized"]
    assert listed[1] == selectors.payment_get(payment_id=second.id)


def test_saved_payment_methods_keep_only_token_and_display_data(customer):
    user_id = str(customer.public_id)
    method = services.payment_method_attach(user_id=user_id, token="pm_card_amex")
    again = services.payment_method_attach(user_id=user_id, token="pm_card_amex")

    assert again == method
    assert (method.token, method.brand, method.last4, method.exp_month, method.exp_year) == (
        "pm_card_amex",
        "amex",
        "8431",
        12,
        2034,
    )
    assert services.payment_methods_for_user(user_id=user_id) == [method]
    assert selectors.payment_methods_for_user(user_id=str(uuid.uuid4())) == []

    with pytest.raises(services.InvalidPaymentMethod):
        services.payment_method_attach(user_id=user_id, token="pm_card_nope")
    with pytest.raises(services.InvalidPaymentMethod):
        services.payment_method_attach(user_id=user_id, token="4000056655665556")

    services.payment_method_detach(user_id=user_id, method_id=method.id)
    assert services.payment_methods_for_user(user_id=user_id) == []
