"""What a customer hears about their order, by email, SMS and push."""

from __future__ import annotations

from django.core import mail

from notifications.models import Notification, SandboxMessage
from tests.notifications import events
from tests.notifications.factories import DeviceFactory


def test_order_confirmed_email_lists_lines_totals_and_address(customer, deliver):
    deliver(events.order_confirmed(customer))

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["casey@example.com"]
    assert email.subject == "Order FM-7Q2K9D4X confirmed"
    assert "2 × Tee M / Blue (TEE-M-BLU)  $59.98" in email.body
    assert "1 × Mug White (MUG-WHT)  $15.00" in email.body
    assert "Subtotal: $74.98" in email.body
    assert "Shipping (Standard): $4.99" in email.body
    assert "Discount: -$5.00" in email.body
    assert "Total: $74.97" in email.body
    assert "1 Main Street" in email.body
    html = email.alternatives[0][0]
    assert "<strong>$74.97</strong>" in html
    assert "Tee M / Blue" in html


def test_order_confirmed_goes_to_push_devices_but_not_sms_by_default(customer, deliver):
    DeviceFactory(user=customer, token="device-token-1")
    deliver(events.order_confirmed(customer))

    push = SandboxMessage.objects.get(channel="push")
    assert push.to == "device-token-1"
    assert push.title == "Order FM-7Q2K9D4X confirmed"
    assert push.body == "FlowMart: order FM-7Q2K9D4X is confirmed ($74.97). We'll tell you when it ships."
    assert not SandboxMessage.objects.filter(channel="sms").exists()
    # The SMS is on record as suppressed: order updates by SMS are opt-in.
    assert sorted(Notification.objects.values_list("channel", "status")) == [
        ("email", "sent"),
        ("push", "sent"),
        ("sms", "suppressed"),
    ]


def test_guest_order_is_emailed_to_the_checkout_address(db, deliver):
    deliver(events.order_confirmed(None))

    assert [m.to for m in mail.outbox] == [["guest@example.com"]]
    assert "Hello Gus Guest," in mail.outbox[0].body
    assert Notification.objects.get().recipient is None


def test_payment_failed_email_has_the_retry_link_and_deadline(customer, deliver):
    deliver(events.payment_failed(customer))

    email = mail.outbox[0]
    assert email.subject == "Payment for order FM-7Q2K9D4X failed"
    assert "We could not take the payment of $74.97 for order FM-7Q2K9D4X (reason: insufficient_funds)." in email.body
    assert "Your order is kept until Nov. 22, 2026, 12:00 UTC." in email.body
    assert "http://127.0.0.1:8000/orders/FM-7Q2K9D4X/pay/" in email.body


def test_on_hold_email_tells_the_delay(customer, deliver):
    deliver(events.on_hold(customer))

    email = mail.outbox[0]
    assert email.subject == "Order FM-7Q2K9D4X is delayed"
    assert "Order FM-7Q2K9D4X is on hold: An item is out of stock." in email.body
    assert "We expect a delay of about 3 days" in email.body


def test_cancelled_email_tells_the_refund(customer, deliver):
    deliver(events.cancelled(customer))

    email = mail.outbox[0]
    assert email.subject == "Order FM-7Q2K9D4X cancelled"
    assert "We are refunding $74.97 to your original payment method" in email.body


def test_each_event_is_one_message_per_channel_even_when_delivered_again(customer, deliver):
    event = events.order_confirmed(customer)
    deliver(event)
    from flowmart.events import dispatcher
    from flowmart.events.models import Delivery

    # Staff retry every delivery of the event: the inbox and the unique key keep it to one email.
    for delivery in Delivery.objects.filter(event_id=event.event_id):
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING)
        dispatcher.delivery_run(delivery_id=delivery.pk)
    from tests.notifications.conftest import send_queued

    send_queued()

    assert len(mail.outbox) == 1


def test_times_read_in_the_customers_time_zone(customer, deliver):
    customer.time_zone = "America/New_York"
    customer.save(update_fields=["time_zone"])

    deliver(events.payment_failed(customer))  # retry_until 2026-11-22T12:00:00+00:00

    assert "Your order is kept until Nov. 22, 2026, 07:00 EST." in mail.outbox[0].body
