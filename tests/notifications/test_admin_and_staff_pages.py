"""Staff screens: template overrides with preview and refusal, history with resend, the sent-messages page."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications import services
from notifications.models import Notification, NotificationTemplate, SandboxMessage
from tests.notifications.factories import NotificationFactory


@pytest.fixture
def staff_browser(client, staff_user):
    client.force_login(staff_user)
    return client


def _template_form(**overrides) -> dict:
    data = {
        "kind": "order_on_hold",
        "channel": "email",
        "subject": "Delay for {{ order_number }}",
        "body_text": "Sorry, {{ recipient_name }}: {{ expected_delay_days }} days.",
        "body_html": "<p>Sorry: {{ expected_delay_days }} days.</p>",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_staff_save_a_template_override(staff_browser, staff_user):
    response = staff_browser.post("/admin/notifications/notificationtemplate/add/", _template_form())

    assert response.status_code == 302
    template = NotificationTemplate.objects.get()
    assert (template.kind, template.channel, template.updated_by) == ("order_on_hold", "email", staff_user)


def test_a_template_that_does_not_render_is_refused(staff_browser):
    response = staff_browser.post(
        "/admin/notifications/notificationtemplate/add/", _template_form(body_text="{% for x in %}")
    )

    assert response.status_code == 200
    assert "This template cannot be rendered, so it was not saved: TemplateSyntaxError" in response.content.decode()
    assert not NotificationTemplate.objects.exists()


def test_a_failing_filter_is_refused_too(staff_browser):
    response = staff_browser.post(
        "/admin/notifications/notificationtemplate/add/",
        _template_form(body_text="{% load money %}{{ order_number|money:'EURO' }}"),
    )

    assert "This template cannot be rendered, so it was not saved" in response.content.decode()
    assert not NotificationTemplate.objects.exists()


def test_preview_renders_the_draft_on_sample_data_without_saving(staff_browser):
    response = staff_browser.post("/admin/notifications/notificationtemplate/preview/", _template_form())

    assert response.status_code == 200
    html = response.content.decode()
    assert '<p id="preview-subject">Delay for FM-7Q2K9D4X</p>' in html
    assert '<pre id="preview-text">Sorry, Casey Customer: 3 days.\n</pre>' in html
    assert not NotificationTemplate.objects.exists()


def test_preview_of_a_broken_draft_shows_the_error(staff_browser):
    response = staff_browser.post(
        "/admin/notifications/notificationtemplate/preview/", _template_form(subject="{{ order_number|nosuchfilter }}")
    )

    assert response.status_code == 400
    assert "Invalid filter: &#x27;nosuchfilter&#x27;" in response.content.decode()


def test_add_page_has_the_preview_button(staff_browser):
    page = staff_browser.get("/admin/notifications/notificationtemplate/add/")

    assert 'formaction="/admin/notifications/notificationtemplate/preview/"' in page.content.decode()


def test_history_admin_lists_and_resends(staff_browser, customer):
    notification = NotificationFactory(recipient=customer)
    services.notification_send(notification_id=notification.pk)

    listing = staff_browser.get("/admin/notifications/notification/")
    assert listing.status_code == 200
    assert "casey@example.com" in listing.content.decode()
    assert '<a href="/notifications/outbox/">Sent messages (email, SMS, push)</a>' in listing.content.decode()
    detail = staff_browser.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert detail.status_code == 200
    assert "Welcome to FlowMart" in detail.content.decode()

    staff_browser.post(
        "/admin/notifications/notification/",
        {"action": "staff_resend", "_selected_action": [notification.pk]},
    )

    copy = Notification.objects.get(resent_from=notification)
    assert copy.status == "queued"
    assert copy.transitions.get().reason == f"resent from {notification.public_id}"


def test_sent_messages_page_for_staff(staff_browser, customer, client):
    NotificationFactory(recipient=customer)
    SandboxMessage.objects.create(channel="sms", to="+15555550123", body="Hello by SMS", provider_message_id="SM1")
    from tests.notifications.conftest import send_queued

    send_queued()

    page = staff_browser.get("/notifications/outbox/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>Welcome to FlowMart</strong>" in html
    assert "Hello by SMS" in html
    assert len(mail.outbox) == 1


def test_sent_messages_page_is_staff_only(client, customer):
    client.force_login(customer)

    response = client.get("/notifications/outbox/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_demo_seed_makes_the_demo_customer_reachable_by_sms_and_push(db):
    from django.core.management import call_command

    from flowmart.users.demo import demo_accounts_ensure
    from notifications.models import Device

    demo_accounts_ensure()
    call_command("seed_demo_notifications")
    call_command("seed_demo_notifications")  # idempotent

    device = Device.objects.get()
    assert (device.user.email, device.user.phone, device.is_active) == ("customer@flowmart.test", "+15555550100", True)


def test_staff_retry_a_failed_notification(staff_browser, staff_user, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    notification = NotificationFactory(recipient=customer)
    assert services.notification_send(notification_id=notification.pk).status == "failed"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    staff_browser.post(
        "/admin/notifications/notification/", {"action": "staff_retry_failed", "_selected_action": [notification.pk]}
    )
    assert services.notification_send(notification_id=notification.pk).status == "sent"

    notification = Notification.objects.get(pk=notification.pk)
    assert [(t.from_state, t.to_state, t.reason, t.by) for t in notification.transitions.all()] == [
        ("queued", "failed", "retries exhausted", None),
        ("failed", "queued", "retried by staff", staff_user),
        ("queued", "sent", "attempt 1", None),
    ]
    assert len(mail.outbox) == 1
