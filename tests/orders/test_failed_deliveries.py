"""A real order whose parcel the sandbox carrier fails to deliver: the Warehouse is alerted with the carrier's
reason and the order is on the attention list; the customer is told the new estimate and sees it in the API;
repeated failures end returned to sender with the refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from flowmart.events.testing import deliver_pending
from notifications.testing import send_queued_notifications
from orders import selectors, services
from orders.models import Order
from shipping import carriers
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services
from shipping.tasks import poll_tracking_task
from tests.shipping.test_failed_deliveries import ReturnsRefused
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
STEP = timedelta(hours=1)  # SHIPPING_SANDBOX_STEP_SECONDS under test


@pytest.fixture
def warehouse_member(db):
    # Created by shipping's data migration (a transactional test's flush may have removed it since).
    group, _ = Group.objects.get_or_create(name="Warehouse")
    member = UserFactory(email="wes@example.com", full_name="Wes Warehouse", is_staff=True)
    member.groups.add(group)
    UserFactory(email="gone@example.com", is_staff=True, is_active=False).groups.add(group)
    UserFactory(email="finance@example.com", is_staff=True)  # staff, not Warehouse: not told
    return member


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def failed_once(customer_client, shop, checkout_body, clock):
    """Checkout to an address the sandbox fails once (FAIL-ONCE), then poll the carrier to the failed attempt."""

    def _failed(line2="FAIL-ONCE"):
        assert (
            customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json").status_code
            == 201
        )
        address = {**checkout_body()["shipping_address"], "line2": line2}
        response = customer_client.post("/api/v1/checkout/", checkout_body(shipping_address=address), format="json")
        assert response.status_code == 201, response.json()
        deliver_pending()
        order = Order.objects.get(number=response.json()["number"])
        poll_tracking_task()  # label
        deliver_pending()
        for _ in range(3):  # picked up (then settle), in transit, delivery failed
            clock.shift(STEP)
            poll_tracking_task()
            deliver_pending()
            services.order_settle(order=order)  # what order_settle_task does on the worker after dispatch
        order.refresh_from_db()
        return order

    return _failed


def test_failed_attempt_alerts_the_warehouse_flags_the_order_and_tells_the_customer_the_new_estimate(
    failed_once, customer_client, customer, warehouse_member
):
    order = failed_once()
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)

    assert list(selectors.orders_needing_attention()) == [order]
    assert order.delivery_problems == {
        shipment.number: f"parcel {shipment.number}: delivery attempt 1 failed: "
        "Delivery attempt failed: recipient not available"
    }

    send_queued_notifications()
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {customer.email, warehouse_member.email}
    alert = by_recipient[warehouse_member.email]
    assert alert.subject == f"[Warehouse] Delivery failed: order {order.number}, parcel {shipment.number}"
    assert "Carrier's reason: Delivery attempt failed: recipient not available." in alert.body
    to_customer = by_recipient[customer.email]
    assert to_customer.subject == f"We could not deliver order {order.number}"
    assert "New estimated delivery: Tuesday 3 November 2026." in to_customer.body
    assert "You can choose another delivery or to collect it from Local delivery station on your order page." in (
        to_customer.body
    )

    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["shipments"][0]["failed_attempts"] == 1
    assert {
        k: detail["shipments"][0]["delivery_failure"][k]
        for k in ("estimated_delivery_date", "estimate_source", "choices")
    } == {
        "estimated_delivery_date": "2026-11-03",
        "estimate_source": "carrier",
        "choices": ["redeliver", "pickup"],
    }
    rescheduled = [e["details"] for e in detail["timeline"] if e["name"] == "DeliveryRescheduled"]
    assert [(p["attempt"], p["estimated_delivery_date"]) for p in rescheduled] == [(1, "2026-11-03")]


def test_delivery_after_a_failed_attempt_takes_the_order_off_the_attention_list(failed_once, clock):
    order = failed_once()

    for _ in range(2):  # out for delivery, delivered
        clock.shift(STEP)
        poll_tracking_task()
        deliver_pending()

    order.refresh_from_db()
    assert (order.status, order.delivery_problems) == ("completed", {})
    assert list(selectors.orders_needing_attention()) == []


def test_repeated_failures_end_returned_to_sender_with_the_refund(
    failed_once, clock, settings, available, warehouse_member
):
    settings.SHIPPING_MAX_DELIVERY_ATTEMPTS = 2
    order = failed_once("FAIL-ALWAYS")
    assert available("TEE-M") == 3
    for _ in range(2):  # out for delivery, attempt 2 failed: the shop gives up
        clock.shift(STEP)
        poll_tracking_task()
        deliver_pending()
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)
    assert shipment.status == "returned_to_sender"

    # What orders.tasks.order_returned_to_sender_task (queued by the DeliveryFailed handler) does on the worker.
    services.order_returned_to_sender(order=order, shipment_number=shipment.number, reason="recipient not available")
    deliver_pending()

    order.refresh_from_db()
    assert (order.status, order.refunded_minor, order.delivery_problems) == ("cancelled", 4499, {})
    assert available("TEE-M") == 5
    send_queued_notifications()
    subjects = sorted(m.subject for m in mail.outbox if m.to == [warehouse_member.email])
    assert subjects == [
        f"[Warehouse] Delivery failed: order {order.number}, parcel {shipment.number}",  # attempt 1
        f"[Warehouse] Delivery failed: order {order.number}, parcel {shipment.number}",  # attempt 2, the last
        f"[Warehouse] Returned to sender: order {order.number}, parcel {shipment.number}",
    ]
    last_attempt = [m for m in mail.outbox if m.to == [warehouse_member.email]][1]
    assert "That was the last attempt the shop allows: the carrier is asked to return the parcel" in last_attempt.body


def test_a_return_the_carrier_refuses_flags_the_order_and_refunds_only_once_staff_arranged_it(
    failed_once, clock, settings, available, warehouse_member, monkeypatch, staff_user
):
    """A carrier that takes no instructions through its API (EasyPost's adapter): the order is not refunded on
    a parcel still out there; the Warehouse is told, and the refund follows staff arranging the return."""
    monkeypatch.setitem(carriers._ADAPTERS, "sandbox", ReturnsRefused)
    settings.SHIPPING_MAX_DELIVERY_ATTEMPTS = 2
    order = failed_once("FAIL-ALWAYS")
    for _ in range(2):
        clock.shift(STEP)
        poll_tracking_task()
        deliver_pending()
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)

    order.refresh_from_db()
    assert (shipment.status, order.status, order.refunded_minor) == ("delivery_failed", "shipped", 0)
    assert order.delivery_problems == {
        shipment.number: f"parcel {shipment.number}: the carrier refused to return it after attempt 2 "
        "(The sandbox carrier takes no delivery instructions.). Arrange the return with the carrier, "
        "then mark it in Shipments."
    }
    assert list(selectors.orders_needing_attention()) == [order]
    send_queued_notifications()
    alerts = sorted(m.subject for m in mail.outbox if m.to == [warehouse_member.email])
    assert f"[Warehouse] Carrier refused to return parcel {shipment.number} (order {order.number})" in alerts

    shipping_services.shipment_return_arranged(shipment_number=shipment.number, by=staff_user)
    deliver_pending()
    # What orders.tasks.order_returned_to_sender_task (queued by the DeliveryFailed handler) does on the worker.
    services.order_returned_to_sender(order=order, shipment_number=shipment.number, reason="recipient not available")
    deliver_pending()

    order.refresh_from_db()
    assert (order.status, order.refunded_minor, order.delivery_problems) == ("cancelled", 4499, {})
    assert available("TEE-M") == 5
