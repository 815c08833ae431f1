"""The issue's "done when": placing, shipping and delivering an order produces the right messages, once each.

Drives the real apps: the orders API (checkout saga), the shipping beat task on the sandbox carrier,
the event spine; notifications sends email (locmem), SMS and push (sandbox).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from flowmart.events.testing import deliver_pending
from notifications.models import Feedback, Notification, SandboxMessage
from notifications.tasks import send_due_feedback_requests_task
from notifications.testing import send_queued_notifications
from shipping.tasks import poll_tracking_task
from tests.notifications.factories import DeviceFactory
from tests.orders.conftest import checkout_body, shop  # noqa: F401 - fixtures

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEP = timedelta(hours=1)  # SHIPPING_SANDBOX_STEP_SECONDS under test


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def run_everything():
    deliver_pending()
    send_queued_notifications()


def test_place_ship_deliver_sends_each_message_once(
    shop,  # noqa: F811
    checkout_body,  # noqa: F811
    sms_phone_customer,
    customer_client,
    clock,
):
    DeviceFactory(user=sms_phone_customer, token="casey-phone")
    assert (
        customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json").status_code == 201
    )
    response = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert response.status_code == 201, response.json()
    number = response.json()["number"]
    run_everything()

    poll_tracking_task()  # label
    run_everything()
    for _ in range(3):  # dispatched, in transit, delivered
        clock.shift(STEP)
        poll_tracking_task()
        run_everything()

    tracking = Notification.objects.get(kind="shipment_dispatched", channel="email").context["tracking_number"]
    assert [m.subject for m in mail.outbox] == [
        f"Order {number} confirmed",
        f"Order {number} is on its way",
        f"Update on your parcel {tracking}",
        f"Order {number} delivered",
    ]
    assert all(m.to == ["casey@example.com"] for m in mail.outbox)
    assert "2 × Tee" in mail.outbox[0].body
    assert f"Tracking number: {tracking}" in mail.outbox[1].body
    # SMS: shipping updates are on by default (dispatch and delivery have SMS texts); order updates by SMS are opt-in.
    sms = SandboxMessage.objects.filter(channel="sms").order_by("id")
    assert [(m.to, m.body.split(" Tracking")[0]) for m in sms] == [
        ("+15555550123", f"FlowMart: order {number} has shipped."),
        ("+15555550123", f"FlowMart: order {number} has been delivered."),
    ]
    assert SandboxMessage.objects.filter(channel="push").count() == 4
    assert not Notification.objects.filter(status__in=["queued", "failed"]).exists()

    # Running everything again sends nothing more; feedback is requested days later, once.
    run_everything()
    assert len(mail.outbox) == 4
    assert Feedback.objects.get().order_number == number
    clock.shift(timedelta(days=settings.FEEDBACK_DELAY_DAYS, minutes=1))
    send_due_feedback_requests_task()
    send_due_feedback_requests_task()
    run_everything()
    assert [m.subject for m in mail.outbox[4:]] == [f"How was order {number}?"]
