"""Refunds above REFUND_APPROVAL_THRESHOLD_MINOR wait for Finance: the order books them only once money moved.

Threshold lowered to 30.00 here. Cancellation of a captured order and a return refund: pending (not counted,
shown as awaiting approval) → Finance approves (PaymentRefunded: booked once, OrderRefunded, return marked
refunded) or rejects (RefundRejected: nothing booked, the order needs staff attention, the customer is told the
refund is under review). Refunds below the threshold are booked at once, as before.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from orders import selectors, services
from orders.models import OrderRefund
from payments import services as payment_services
from payments.events import PaymentRefunded
from payments.selectors import payments_for_reference
from shipping import selectors as shipping_selectors
from tests.orders.shipping_steps import order_ship, return_received

pytestmark = pytest.mark.django_db

THRESHOLD = 3000


@pytest.fixture(autouse=True)
def _approval_threshold(settings):
    settings.PAYMENTS_GATEWAY = "sandbox"
    settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS = 0
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = THRESHOLD


@pytest.fixture
def finance_user(staff_member):
    return staff_member("Finance", email="finance@example.com")


def _dispatch(order) -> str:
    shipment_number = order_ship(order)
    order.refresh_from_db()
    assert order.captured_minor == order.total_minor
    return shipment_number


def _return(order, customer, shipment_number, *, quantity: int, refund_minor: int) -> str:
    rma = return_received(order, customer, shipment_number, quantity=quantity, reason="too small", decision="refund")
    deliver_pending()
    services.order_return_settle(  # what order_return_settle_task does on the worker
        order=order,
        rma_number=rma.rma_number,
        decision="refund",
        refund_minor=refund_minor,
        lines=[{"sku": "TEE-M", "quantity": quantity}],
        warehouse_code="east",
    )
    return rma.rma_number


def _money(order) -> tuple:
    order.refresh_from_db()
    payments = list(order.payments.all())
    return (
        order.refunded_minor,
        order.refund_pending_minor,
        [p.refunded_minor for p in payments],
        [
            (p.status, p.captured_minor, p.refunded_minor)
            for p in payments_for_reference(reference=order.payment_reference)
        ],
    )


def _events(order, name: str) -> list[dict]:
    return [
        e.payload
        for e in OutboxEvent.objects.filter(correlation_id=order.number, name=name).order_by("created_at", "event_id")
    ]


def _page(customer, order) -> str:
    c = Client()
    c.force_login(customer)
    r = c.get(f"/orders/{order.number}/")
    assert r.status_code == 200
    return r.content.decode()


def _only_refund(order) -> OrderRefund:
    [refund] = OrderRefund.objects.filter(order=order)
    return refund


def _deliver_payment_refunded_again(order) -> None:
    """The same PaymentRefunded once more, as a new delivery (a re-published copy) and straight to the service."""
    [payload] = _events_of_payments(order, "PaymentRefunded")
    with transaction.atomic():
        publish(PaymentRefunded(correlation_id=order.number, **payload))
        services.order_refund_succeeded(refund_id=payload["refund_id"], amount_minor=payload["amount_minor"])
    deliver_pending()


def _events_of_payments(order, name: str) -> list[dict]:
    return [
        e.payload
        for e in OutboxEvent.objects.filter(name=name, payload__reference=order.payment_reference).order_by(
            "created_at", "event_id"
        )
    ]


# -- cancellation of a captured order ----------------------------------------------------------------------
def test_cancel_above_threshold_waits_for_finance_then_books_the_refund_once(
    place, customer, customer_client, staff_user, finance_user
):
    order = place(("TEE-M", 3))  # 3 × 20.00 = 60.00, free shipping
    _dispatch(order)

    services.order_cancel(order=order, by=staff_user, actor="staff", reason="lost in the warehouse")
    deliver_pending()

    order.refresh_from_db()
    assert order.status == "cancelled"
    assert _money(order) == (0, 6000, [0], [("captured", 6000, 0)])
    refund = _only_refund(order)
    assert (refund.status, refund.amount_minor, refund.purpose) == ("pending_approval", 6000, "cancellation")
    [cancelled] = _events(order, "OrderCancelled")
    assert (cancelled["refunded_minor"], cancelled["refund_pending_minor"]) == (0, 6000)
    assert _events(order, "OrderRefunded") == []
    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    assert (detail["totals"]["refunded_minor"], detail["totals"]["refund_pending_minor"]) == (0, 6000)
    assert [(r["status"], r["amount_minor"], r["purpose"]) for r in detail["refunds"]] == [
        ("awaiting_approval", 6000, "cancellation")
    ]
    html = _page(customer, order)
    assert "Refund awaiting approval" in html
    assert ">Refunded<" not in html

    payment_services.refund_approve(refund_id=refund.refund_id, by=finance_user, note="ok")
    deliver_pending()

    assert _money(order) == (6000, 0, [6000], [("refunded", 6000, 6000)])
    assert _only_refund(order).status == "succeeded"
    assert [(e["rma_number"], e["refunded_minor"]) for e in _events(order, "OrderRefunded")] == [("", 6000)]
    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    assert (detail["totals"]["refunded_minor"], detail["totals"]["refund_pending_minor"]) == (6000, 0)
    assert [r["status"] for r in detail["refunds"]] == ["refunded"]

    _deliver_payment_refunded_again(order)

    assert _money(order) == (6000, 0, [6000], [("refunded", 6000, 6000)])
    assert len(_events(order, "OrderRefunded")) == 1
    assert order not in selectors.orders_needing_attention()


def test_cancel_refund_rejected_by_finance_books_nothing_and_needs_attention(
    place, customer, customer_client, staff_user, finance_user
):
    order = place(("TEE-M", 3))
    _dispatch(order)
    services.order_cancel(order=order, by=staff_user, actor="staff", reason="lost in the warehouse")
    refund = _only_refund(order)

    payment_services.refund_reject(
        refund_id=refund.refund_id, by=finance_user, note="customer already refunded by bank"
    )
    deliver_pending()

    assert _money(order) == (0, 0, [0], [("captured", 6000, 0)])
    assert _only_refund(order).status == "rejected"
    assert _events(order, "OrderRefunded") == []
    order.refresh_from_db()
    assert order.failure_code == "refund_rejected"
    assert order.failure_detail == (
        "refund of $60.00 (cancellation) rejected by Finance: customer already refunded by bank"
    )
    assert list(selectors.orders_needing_attention()) == [order]
    staff = Client()
    staff.force_login(staff_user)
    listing = staff.get("/admin/orders/orderneedingattention/").content.decode()
    assert order.number in listing and "rejected by Finance" in listing
    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["totals"]["refunded_minor"] == 0
    assert [(r["status"], r["amount_minor"]) for r in detail["refunds"]] == [("under_review", 6000)]
    html = _page(customer, order)
    assert "Refund under review by our team" in html
    assert ">Refunded<" not in html and "Finance" not in html

    # staff dealt with it (e.g. refunded by hand at payments): the flag goes
    r = staff.post(f"/admin/orders/order/{order.pk}/staff-action/refund_resolved/", {"reason": "called the bank"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert (order.failure_code, order.failure_detail) == ("", "")
    assert order not in selectors.orders_needing_attention()
    assert selectors.order_history(order=order)[-1].transition == "refund_issue_resolved"


# -- returns -----------------------------------------------------------------------------------------------
def test_return_refund_above_threshold_waits_then_books_and_marks_the_return(
    place, customer, customer_client, finance_user, available
):
    order = place(("TEE-M", 2))  # 40.00 + 4.99 shipping
    shipment_number = _dispatch(order)
    rma_number = _return(order, customer, shipment_number, quantity=2, refund_minor=4000)
    deliver_pending()

    assert _money(order) == (0, 4000, [0], [("captured", 4499, 0)])
    refund = _only_refund(order)
    assert (refund.status, refund.purpose, refund.rma_number, refund.amount_minor) == (
        "pending_approval",
        "return",
        rma_number,
        4000,
    )
    assert shipping_selectors.return_get(rma_number=rma_number).status == "received"
    assert available("TEE-M") == 5  # the goods are back on the shelf; only the money waits
    assert _events(order, "OrderRefunded") == []
    assert "Refund awaiting approval" in _page(customer, order)

    payment_services.refund_approve(refund_id=refund.refund_id, by=finance_user)
    deliver_pending()

    assert _money(order) == (4000, 0, [4000], [("partially_refunded", 4499, 4000)])
    assert shipping_selectors.return_get(rma_number=rma_number).status == "refunded"
    assert [(e["rma_number"], e["refunded_minor"]) for e in _events(order, "OrderRefunded")] == [(rma_number, 4000)]

    _deliver_payment_refunded_again(order)
    # the ReturnReceived task running again changes nothing either
    services.order_return_settle(
        order=order,
        rma_number=rma_number,
        decision="refund",
        refund_minor=4000,
        lines=[{"sku": "TEE-M", "quantity": 2}],
        warehouse_code="east",
    )

    assert _money(order) == (4000, 0, [4000], [("partially_refunded", 4499, 4000)])
    assert len(_events(order, "OrderRefunded")) == 1
    assert available("TEE-M") == 5


def test_return_refund_rejected_leaves_the_return_unrefunded_and_flags_the_order(
    place, customer, customer_client, finance_user
):
    order = place(("TEE-M", 2))
    shipment_number = _dispatch(order)
    rma_number = _return(order, customer, shipment_number, quantity=2, refund_minor=4000)
    refund = _only_refund(order)

    payment_services.refund_reject(refund_id=refund.refund_id, by=finance_user, note="items arrived damaged")
    deliver_pending()

    assert _money(order) == (0, 0, [0], [("captured", 4499, 0)])
    assert shipping_selectors.return_get(rma_number=rma_number).status == "received"
    assert _events(order, "OrderRefunded") == []
    order.refresh_from_db()
    assert (order.status, order.failure_code) == ("shipped", "refund_rejected")
    assert order.failure_detail == f"refund of $40.00 (return {rma_number}) rejected by Finance: items arrived damaged"
    assert list(selectors.orders_needing_attention()) == [order]
    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    assert [(r["status"], r["rma_number"]) for r in detail["refunds"]] == [("under_review", rma_number)]
    assert "Refund under review by our team" in _page(customer, order)


# -- below the threshold: unchanged ----------------------------------------------------------------------
def test_small_return_refund_is_booked_at_once_and_its_event_does_not_count_it_twice(place, customer, available):
    order = place(("TEE-M", 2))
    shipment_number = _dispatch(order)
    rma_number = _return(order, customer, shipment_number, quantity=1, refund_minor=2000)

    assert _money(order) == (2000, 0, [2000], [("partially_refunded", 4499, 2000)])
    assert shipping_selectors.return_get(rma_number=rma_number).status == "refunded"
    assert [(e["rma_number"], e["refunded_minor"]) for e in _events(order, "OrderRefunded")] == [(rma_number, 2000)]

    deliver_pending()  # PaymentRefunded reaches orders' handler
    _deliver_payment_refunded_again(order)

    assert _money(order) == (2000, 0, [2000], [("partially_refunded", 4499, 2000)])
    assert len(_events(order, "OrderRefunded")) == 1
    assert _only_refund(order).status == "succeeded"
    assert available("TEE-M") == 4


def test_small_cancel_refund_is_booked_at_once(place, staff_user):
    order = place(("TEE-M", 1))  # 20.00 + 4.99 shipping = 24.99, under the 30.00 threshold
    _dispatch(order)

    services.order_cancel(order=order, by=staff_user, actor="staff", reason="lost in the warehouse")

    assert _money(order) == (2499, 0, [2499], [("refunded", 2499, 2499)])
    deliver_pending()
    assert _money(order) == (2499, 0, [2499], [("refunded", 2499, 2499)])
    [cancelled] = _events(order, "OrderCancelled")
    assert (cancelled["refunded_minor"], cancelled["refund_pending_minor"]) == (2499, 0)
    assert _events(order, "OrderRefunded") == []
    assert order not in selectors.orders_needing_attention()


def test_finance_deciding_before_orders_recorded_the_refund_is_still_booked_once(
    place, staff_user, finance_user, monkeypatch
):
    """Race: Finance approves (and PaymentRefunded is handled) between payments' answer and orders' record."""
    order = place(("TEE-M", 3))
    _dispatch(order)
    real_refund = payment_services.payment_refund

    def refund_then_approve_at_once(**kwargs):
        info = real_refund(**kwargs)
        payment_services.refund_approve(refund_id=info.id, by=finance_user)
        deliver_pending()  # orders' handler finds no refund of its own yet
        return info  # still says pending_approval

    monkeypatch.setattr(payment_services, "payment_refund", refund_then_approve_at_once)
    services.order_cancel(order=order, by=staff_user, actor="staff", reason="lost in the warehouse")
    deliver_pending()

    assert _money(order) == (6000, 0, [6000], [("refunded", 6000, 6000)])
    assert _only_refund(order).status == "succeeded"
    assert [(e["rma_number"], e["refunded_minor"]) for e in _events(order, "OrderRefunded")] == [("", 6000)]


def test_approved_refund_the_gateway_refuses_is_flagged_by_the_sweeper(
    place, customer_client, staff_user, finance_user, monkeypatch
):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from payments.gateways.base import GatewayError
    from payments.gateways.sandbox import SandboxGateway

    order = place(("TEE-M", 3))
    _dispatch(order)
    services.order_cancel(order=order, by=staff_user, actor="staff", reason="lost in the warehouse")
    refund = _only_refund(order)

    def refused(self, **kwargs):
        raise GatewayError("card account closed", code="charge_not_refundable")

    monkeypatch.setattr(SandboxGateway, "refund", refused)  # the edge of the world: the processor says no
    with pytest.raises(payment_services.GatewayRefused):
        payment_services.refund_approve(refund_id=refund.refund_id, by=finance_user)
    deliver_pending()
    assert _only_refund(order).status == "pending_approval"  # payments published nothing

    assert services.order_refunds_check() == 0  # too recent to ask about
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.order_refunds_check() == 1

    assert _money(order) == (0, 0, [0], [("captured", 6000, 0)])
    order.refresh_from_db()
    assert (order.failure_code, order.failure_detail) == (
        "refund_failed",
        "refund of $60.00 (cancellation) failed at the payment provider",
    )
    assert list(selectors.orders_needing_attention()) == [order]
    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    assert [(r["status"], r["amount_minor"]) for r in detail["refunds"]] == [("under_review", 6000)]
