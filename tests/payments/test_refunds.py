"""Refunds: partial and full, never more than captured (even concurrently), Finance approval above the threshold."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from flowmart.errors import InvalidTransition
from flowmart.events.models import OutboxEvent
from payments import selectors, services
from payments.models import Refund, SandboxCharge
from tests.payments.factories import authorized_payment, captured_payment
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def refund(payment, amount, **kwargs):
    return services.payment_refund(
        payment_id=payment.id,
        amount_minor=amount,
        reason=kwargs.pop("reason", "customer asked"),
        idempotency_key=kwargs.pop("idempotency_key", f"refund-{uuid.uuid4()}"),
        **kwargs,
    )


def test_partial_then_full_refund():
    payment = captured_payment(amount_minor=10000, reference="order:FM-R1")

    first = refund(payment, 3000)
    assert (first.status, first.amount_minor) == ("succeeded", 3000)
    assert selectors.payment_get(payment_id=payment.id).status == "partially_refunded"

    second = refund(payment, 7000)
    assert second.status == "succeeded"
    info = selectors.payment_get(payment_id=payment.id)
    assert (info.status, info.refunded_minor) == ("refunded", 10000)
    assert SandboxCharge.objects.get().refunded_minor == 10000

    events = OutboxEvent.objects.filter(name="PaymentRefunded").order_by("created_at")
    assert [
        (e.payload["amount_minor"], e.payload["refunded_total_minor"], e.payload["fully_refunded"]) for e in events
    ] == [
        (3000, 3000, False),
        (7000, 10000, True),
    ]
    assert {e.correlation_id for e in events} == {"FM-R1"}


def test_cannot_refund_more_than_captured():
    payment = captured_payment(amount_minor=10000)
    refund(payment, 6000)
    with pytest.raises(services.RefundExceedsCaptured) as exc:
        refund(payment, 4001)
    assert (exc.value.status, exc.value.extra["refundable_minor"]) == (409, 4000)
    assert selectors.payment_get(payment_id=payment.id).refunded_minor == 6000


def test_refund_is_limited_by_a_partial_capture():
    payment = authorized_payment(amount_minor=10000)
    services.payment_capture(payment_id=payment.id, amount_minor=7000)
    with pytest.raises(services.RefundExceedsCaptured):
        refund(payment, 7001)
    assert refund(payment, 7000).status == "succeeded"
    assert selectors.payment_get(payment_id=payment.id).status == "refunded"


def test_only_captured_payments_can_be_refunded():
    payment = authorized_payment()
    with pytest.raises(InvalidTransition):
        refund(payment, 100)


def test_the_same_idempotency_key_refunds_once():
    payment = captured_payment(amount_minor=10000)
    first = refund(payment, 2500, idempotency_key="rk-1")
    again = refund(payment, 2500, idempotency_key="rk-1")
    assert again == first
    assert Refund.objects.count() == 1
    assert SandboxCharge.objects.get().refunded_minor == 2500
    with pytest.raises(services.PaymentIdempotencyConflict):
        refund(payment, 2600, idempotency_key="rk-1")


def test_big_refunds_wait_for_finance_approval(finance_user, staff_user):
    payment = captured_payment(amount_minor=80000)

    waiting = refund(payment, 60000, requested_by=staff_user)
    assert waiting.status == "pending_approval"
    assert SandboxCharge.objects.get().refunded_minor == 0
    # The waiting amount is reserved: nobody can refund past it meanwhile.
    with pytest.raises(services.RefundExceedsCaptured):
        refund(payment, 20001)

    with pytest.raises(services.RefundApprovalForbidden):
        services.refund_approve(refund_id=waiting.id, by=staff_user)

    approved = services.refund_approve(refund_id=waiting.id, by=finance_user, note="ok")
    assert approved.status == "succeeded"
    assert SandboxCharge.objects.get().refunded_minor == 60000
    record = Refund.objects.get(pk=waiting.id)
    assert (record.decided_by, record.requested_by) == (finance_user, staff_user)
    reasons = [e.reason for e in selectors.payment_history(payment_id=payment.id)]
    assert "Refund requested (waiting for Finance approval): customer asked" in reasons
    assert "Refund approved by Finance: ok" in reasons
    with pytest.raises(services.RefundNotPending):
        services.refund_reject(refund_id=waiting.id, by=finance_user)


def test_rejected_refunds_release_the_amount(finance_user):
    payment = captured_payment(amount_minor=80000)
    waiting = refund(payment, 60000)
    rejected = services.refund_reject(refund_id=waiting.id, by=finance_user, note="not eligible")

    assert rejected.status == "rejected"
    assert SandboxCharge.objects.get().refunded_minor == 0
    assert OutboxEvent.objects.get(name="RefundRejected").payload["note"] == "not eligible"
    assert refund(payment, 80000, reason="approved later").status == "pending_approval"


def test_small_refunds_go_straight_through(settings):
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = 5000
    payment = captured_payment(amount_minor=20000)
    assert refund(payment, 5000).status == "succeeded"
    assert refund(payment, 5001).status == "pending_approval"


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_captured_amount():
    payment = captured_payment(amount_minor=10000)
    results: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            refund(payment, 3000, idempotency_key=f"concurrent-{n}")
            results.append("ok")
        except services.RefundExceedsCaptured:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(results) == ["ok", "ok", "ok", "refused", "refused", "refused"]
    info = selectors.payment_get(payment_id=payment.id)
    assert (info.status, info.refunded_minor) == ("partially_refunded", 9000)
    assert SandboxCharge.objects.get().refunded_minor == 9000
    assert Refund.objects.filter(status="succeeded").count() == 3


def test_refund_approval_needs_an_authenticated_finance_member():
    payment = captured_payment(amount_minor=80000)
    waiting = refund(payment, 60000)
    outsider = UserFactory(email="someone@example.com")
    with pytest.raises(services.RefundApprovalForbidden):
        services.refund_approve(refund_id=waiting.id, by=outsider)
    with pytest.raises(services.RefundApprovalForbidden):
        services.refund_approve(refund_id=waiting.id, by=None)
