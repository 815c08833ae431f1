"""Reliable sending: retries with back-off on transient errors, failures recorded, rate limit, templates."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications import services
from notifications.models import Notification, SandboxMessage
from tests.notifications import events
from tests.notifications.conftest import send_queued
from tests.notifications.factories import NotificationFactory, NotificationTemplateFactory


@pytest.fixture
def smtp_down(settings):
    """A real SMTP backend pointed at a port nobody listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1


def test_transient_error_is_retried_with_back_off_then_sent(customer, smtp_down, settings):
    notification = NotificationFactory(recipient=customer)

    outcome = services.notification_send(notification_id=notification.pk)

    assert outcome.status == "retrying"
    assert outcome.retry_in == settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    notification = Notification.objects.get(pk=notification.pk)
    assert (notification.status, notification.attempts) == ("queued", 1)
    assert "ConnectionRefusedError" in notification.error
    assert services.retry_delay(3) == settings.NOTIFICATIONS_RETRY_BASE_SECONDS * 4

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    assert services.notification_send(notification_id=notification.pk).status == "sent"
    notification = Notification.objects.get(pk=notification.pk)
    assert (notification.status, notification.attempts, notification.error) == ("sent", 2, "")
    assert len(mail.outbox) == 1


def test_gives_up_after_the_last_attempt_and_records_why(customer, smtp_down, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    notification = NotificationFactory(recipient=customer)

    assert send_queued() == ["retrying", "retrying", "failed"]

    notification = Notification.objects.get(pk=notification.pk)
    assert (notification.status, notification.attempts) == ("failed", 3)
    assert notification.failed_at is not None
    assert [(t.from_state, t.to_state, t.reason) for t in notification.transitions.all()] == [
        ("queued", "failed", "retries exhausted")
    ]


def test_a_sent_notification_is_never_sent_again(customer):
    notification = NotificationFactory(recipient=customer)
    services.notification_send(notification_id=notification.pk)

    assert services.notification_send(notification_id=notification.pk).status == "sent"
    assert len(mail.outbox) == 1


def test_rate_limit_per_recipient_delays_the_rest(customer, settings):
    settings.NOTIFICATIONS_RATE_LIMIT_PER_RECIPIENT = 2
    first, second, third = (NotificationFactory(recipient=customer) for _ in range(3))
    other = NotificationFactory(recipient=None, to_address="someone@example.com")

    outcomes = [services.notification_send(notification_id=n.pk) for n in (first, second, third, other)]

    assert [o.status for o in outcomes] == ["sent", "sent", "rate_limited", "sent"]
    assert 0 < outcomes[2].retry_in <= settings.NOTIFICATIONS_RATE_LIMIT_WINDOW_SECONDS
    third = Notification.objects.get(pk=third.pk)
    assert (third.status, third.attempts) == ("queued", 0)
    assert len(mail.outbox) == 3


def test_staff_override_template_is_used(customer, deliver):
    NotificationTemplateFactory(kind="welcome", channel="email")

    deliver(events.signed_up(customer))

    email = mail.outbox[0]
    assert email.subject == "Hi Casey Customer, welcome aboard"
    assert email.body == "Custom welcome for casey@example.com\n"
    assert Notification.objects.get().template.startswith("override:")


def test_a_template_that_fails_to_render_is_not_sent_broken(customer, deliver):
    # Saved behind the admin's back (the admin form refuses it): sending refuses too.
    NotificationTemplateFactory(kind="welcome", channel="email", body_text="{% if %}broken")

    deliver(events.signed_up(customer))

    assert mail.outbox == []
    notification = Notification.objects.get()
    assert notification.status == "failed"
    assert notification.error.startswith("TemplateSyntaxError")


def test_push_without_devices_is_not_attempted(customer, deliver):
    deliver(events.order_confirmed(customer))

    assert not Notification.objects.filter(channel="push").exists()
    assert not SandboxMessage.objects.exists()


def test_resend_creates_a_new_notification(customer, staff_user):
    original = NotificationFactory(recipient=customer)
    services.notification_send(notification_id=original.pk)

    copy = services.notification_resend(notification=original, by=staff_user)
    services.notification_send(notification_id=copy.pk)

    assert copy.resent_from == original
    assert len(mail.outbox) == 2
    assert Notification.objects.get(pk=copy.pk).status == "sent"


def test_requeue_sweep_finds_stuck_messages(customer, settings):
    import time_machine
    from django.utils import timezone

    stuck = NotificationFactory(recipient=customer)
    fresh_later = None
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=5)):
        fresh_later = NotificationFactory(recipient=customer)
        ids = services.notifications_requeue_stuck()

    assert stuck.pk in ids
    assert fresh_later.pk not in ids


class CrashingSmsBackend:
    def send(self, message):
        raise RuntimeError("adapter bug")


def test_a_crashing_adapter_is_recorded_and_retried_not_lost(sms_phone_customer, settings):
    settings.SMS_BACKEND = "tests.notifications.test_sending.CrashingSmsBackend"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    notification = NotificationFactory(
        recipient=sms_phone_customer,
        channel="sms",
        kind="shipment_delivered",
        category="shipping_updates",
        to_address="+15555550123",
        context={"order_number": "FM-1", "tracking_number": "T1"},
    )

    assert send_queued() == ["retrying", "failed"]

    notification = Notification.objects.get(pk=notification.pk)
    assert (notification.status, notification.error) == ("failed", "RuntimeError: adapter bug")
