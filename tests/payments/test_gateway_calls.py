"""How the gateway is called: never inside a database transaction; crashes are resumed with the same keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from payments import selectors, services
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, Refund, SandboxCharge
from tests.payments.factories import authorized_payment, captured_payment


class SpyGateway(SandboxGateway):
    """The sandbox, noting whether a database transaction was open at each call."""

    calls: list[tuple[str, bool]] = []

    def _call(self, *, operation, **kwargs):
        SpyGateway.calls.append((operation, connection.in_atomic_block))
        return super()._call(operation=operation, **kwargs)


@pytest.fixture
def spy(monkeypatch):
    SpyGateway.calls = []
    monkeypatch.setattr("payments.gateways.get_gateway", lambda name=None: SpyGateway())
    return SpyGateway.calls


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_gateway_is_called(spy):
    payment = captured_payment(amount_minor=5000)
    services.payment_refund(payment_id=payment.id, amount_minor=100, reason="x", idempotency_key="spy-r")
    other = authorized_payment()
    services.payment_void(payment_id=other.id, reason="x")

    assert spy == [
        ("authorize", False),
        ("capture", False),
        ("refund", False),
        ("authorize", False),
        ("void", False),
    ]


@pytest.mark.django_db
def test_a_payment_left_pending_by_a_crash_is_finished_with_the_same_key(monkeypatch):
    # The process died after the gateway authorized but before we recorded the answer.
    def crash(payment, *, publish_success):
        SandboxGateway().authorize(
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=f"authorize-{payment.id}",
            description=payment.reference,
        )
        raise SystemExit("crash")

    monkeypatch.setattr("payments.charges.payment_send", crash)
    with pytest.raises(SystemExit):
        authorized_payment(amount_minor=700)
    monkeypatch.undo()
    payment = Payment.objects.get()
    assert payment.status == "pending"

    assert services.payments_resume_stuck() == 0  # too recent: it may still be in flight
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.payments_resume_stuck() == 1

    assert selectors.payment_get(payment_id=payment.id).status == "authorized"
    assert SandboxCharge.objects.count() == 1


@pytest.mark.django_db
def test_a_refund_left_processing_by_a_crash_is_finished_once(monkeypatch):
    payment = captured_payment(amount_minor=5000)
    monkeypatch.setattr("payments.refunds.refund_execute", lambda refund, by: refund)
    services.payment_refund(payment_id=payment.id, amount_minor=1200, reason="x", idempotency_key="crash-r")
    monkeypatch.undo()
    assert Refund.objects.get().status == "processing"

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.payments_resume_stuck() == 1

    assert Refund.objects.get().status == "succeeded"
    assert SandboxCharge.objects.get().refunded_minor == 1200
    assert selectors.payment_get(payment_id=payment.id).refunded_minor == 1200
