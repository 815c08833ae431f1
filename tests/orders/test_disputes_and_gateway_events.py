"""What the payment provider tells us after the fact reaches the order: a chargeback (timeline, the staff's
attention list, the ``disputed`` marker in the admin, the API and, calmly, the customer's page; Finance told; the
outcome in the order's books), a refund made in the gateway's dashboard (booked once as the order's refund) and
an authorization the gateway let expire before capture (flagged for staff). Real sandbox gateway, signed
webhooks, events delivered through the outbox."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from flowmart.events.testing import deliver_pending
from notifications.testing import send_queued_notifications
from orders import selectors, services
from orders.models import OrderRefund
from orders.timeline_text import describe
from payments import services as payment_services
from payments import webhooks
from payments.models import Dispute, Payment
from payments.selectors import payments_for_reference
from tests.orders.shipping_steps import order_ship
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.PAYMENTS_GATEWAY = "sandbox"
    settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS = 0
    settings.PAYMENTS_SANDBOX_DISPUTE_FEE_MINOR = 1500
    settings.PAYMENTS_SANDBOX_DISPUTE_DECISION_SECONDS = 0


@pytest.fixture
def finance_member(db):
    group, _ = Group.objects.get_or_create(name="Finance")
    user = UserFactory(email="finance@example.com", is_staff=True, is_superuser=True)
    user.groups.add(group)
    return user


@pytest.fixture
def place(place):
    """Here an order is two tees."""
    return lambda: place(("TEE-M", 2))


def charge_of(order) -> str:
    [payment] = payments_for_reference(reference=order.payment_reference)
    return Payment.objects.get(pk=payment.id).gateway_ref


def open_dispute(order) -> Dispute:
    webhooks.sandbox_dispute_send(charge_id=charge_of(order), event_type="charge.dispute.created", status="x")
    deliver_pending()
    return Dispute.objects.get(payment__reference=order.payment_reference)


def page(customer, order) -> str:
    c = Client()
    c.force_login(customer)
    r = c.get(f"/orders/{order.number}/")
    assert r.status_code == 200
    return r.content.decode()


def test_a_dispute_reaches_the_order(place, customer, customer_client, finance_member):
    order = place()
    order_ship(order)
    order.refresh_from_db()
    mail.outbox.clear()

    open_dispute(order)

    order.refresh_from_db()
    assert order.disputed is True
    assert order in selectors.orders_needing_attention()
    names = [e.name for e in selectors.order_timeline(order=order)]
    assert "ChargebackOpened" in names
    assert "Your bank queried the payment of $" in page(customer, order)
    assert "you don't need to do anything" in page(customer, order)
    assert customer_client.get(f"/api/v1/orders/{order.number}/").json()["disputed"] is True
    admin = Client()
    admin.force_login(finance_member)
    listing = admin.get(reverse("admin:orders_orderneedingattention_changelist")).content.decode()
    assert order.number in listing
    detail = admin.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "(chargeback open)" in detail
    send_queued_notifications()
    assert [(m.to, m.subject) for m in mail.outbox if "Chargeback" in m.subject] == [
        (["finance@example.com"], f"[Payments] Chargeback opened on order:{order.number}")
    ]


def test_a_lost_dispute_is_a_recorded_loss_in_the_orders_books(place, customer, finance_member):
    order = place()
    order_ship(order)
    order.refresh_from_db()
    total = order.total_minor
    dispute = open_dispute(order)

    payment_services.dispute_evidence_submit(dispute_id=dispute.id, text="losing_evidence", by=finance_member)
    assert webhooks.sandbox_disputes_decide() == 1
    deliver_pending()

    order.refresh_from_db()
    assert (order.disputed, order.chargeback_lost_minor, order.chargeback_fee_minor) == (False, total, 1500)
    assert order not in selectors.orders_needing_attention()
    assert selectors.order_money_summary(order=order) == {
        "currency": "USD",
        "captured_minor": total,
        "refunded_minor": 0,
        "chargeback_lost_minor": total,
        "chargeback_fee_minor": 1500,
        "net_minor": -1500,
        "disputed": False,
    }
    [row] = order.disputes.all()
    assert (row.status, row.loss_minor, row.fee_minor) == ("lost", total, 1500)
    html = page(customer, order)
    assert "Returned to you by your bank" in html
    assert "returned to you by your bank" in html  # the timeline's sentence
    admin = Client()
    admin.force_login(finance_member)
    detail = admin.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "lost to chargebacks" in detail


def test_a_won_dispute_costs_nothing_and_the_event_twice_changes_nothing(place):
    order = place()
    order_ship(order)
    dispute = open_dispute(order)
    payment_services.dispute_evidence_submit(dispute_id=dispute.id, text="winning_evidence")
    webhooks.sandbox_disputes_decide()
    deliver_pending()
    services.order_dispute_resolved(dispute_id=str(dispute.id), outcome="lost", loss_minor=999, fee_minor=9)

    order.refresh_from_db()
    assert (order.disputed, order.chargeback_lost_minor, order.chargeback_fee_minor) == (False, 0, 0)
    assert order.disputes.get().status == "won"
    assert (
        describe(name="ChargebackResolved", payload={"outcome": "won", "amount_minor": 100, "currency": "USD"})
        == "Your bank closed its query: the $1.00 stays with us"
    )


def test_a_dashboard_refund_is_the_orders_refund_once(place, customer):
    order = place()
    order_ship(order)
    event = webhooks.sandbox_dashboard_refund(charge_id=charge_of(order), amount_minor=700)
    deliver_pending()
    deliver_pending()

    order.refresh_from_db()
    assert event.status == "processed"
    assert order.refunded_minor == 700
    [refund] = OrderRefund.objects.filter(order=order)
    assert (refund.purpose, refund.status, refund.amount_minor) == ("gateway", "succeeded", 700)
    assert order.payments.get().refunded_minor == 700
    assert "Refund of $7.00 sent" in page(customer, order)
    [payment] = payments_for_reference(reference=order.payment_reference)
    assert payment.refunded_minor == 700


def test_an_expired_authorization_flags_the_order_before_dispatch(place, finance_member):
    order = place()
    webhooks.sandbox_authorization_expire(charge_id=charge_of(order))
    deliver_pending()

    order.refresh_from_db()
    assert order.failure_code == "authorization_expired"
    assert order.failure_detail.startswith("card authorization of $")
    assert order in selectors.orders_needing_attention()

    services.order_flag_clear(order=order, by=finance_member, reason="customer paid again")
    order.refresh_from_db()
    assert (order.failure_code, order.failure_detail) == ("", "")
    assert order not in selectors.orders_needing_attention()


def test_an_expiry_after_capture_flags_nothing(place):
    order = place()
    order_ship(order)
    assert (
        services.order_authorization_expired(
            payment_id=str(order.payments.get().payment_id), amount_minor=order.total_minor
        )
        is None
    )
    order.refresh_from_db()
    assert order.failure_code == ""
