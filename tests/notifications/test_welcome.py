from __future__ import annotations

from django.core import mail

from flowmart.events.testing import deliver_pending
from flowmart.users.services import user_signed_up
from notifications.models import Notification
from tests.notifications.conftest import send_queued


def test_sign_up_sends_one_welcome_email_with_text_and_html(customer):
    user_signed_up(user=customer)
    deliver_pending()
    send_queued()

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["casey@example.com"]
    assert email.subject == "Welcome to FlowMart"
    assert "Hello Casey Customer," in email.body
    assert "Welcome to FlowMart! Your account for casey@example.com is ready." in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "Your account for casey@example.com is ready." in html
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/notifications/unsubscribe/")

    notification = Notification.objects.get()
    assert (notification.kind, notification.channel, notification.status) == ("welcome", "email", "sent")
    assert notification.attempts == 1
    assert notification.provider_message_id == email.extra_headers["Message-ID"]
    assert [(t.from_state, t.to_state) for t in notification.transitions.all()] == [("queued", "sent")]


def test_the_same_sign_up_event_delivered_twice_sends_one_email(customer, deliver):
    from tests.notifications.events import signed_up

    event = signed_up(customer)
    deliver(event)
    # The spine's inbox already makes redelivery a no-op; the unique key guards a second handler run too.
    from notifications import services

    services.notifications_create_for_event(
        kind="welcome",
        event=event,
        recipient=services.recipient_resolve(user_id=event.user_id, email=event.email),
        context={},
    )
    send_queued()

    assert len(mail.outbox) == 1
    assert Notification.objects.count() == 1


def test_storefront_sign_up_gets_the_welcome_email(client, db):
    response = client.post(
        "/accounts/signup/", {"email": "new@example.com", "password1": "s3cret-pass", "password2": "s3cret-pass"}
    )
    assert response.status_code == 302
    mail.outbox.clear()  # allauth's address verification

    deliver_pending()
    send_queued()

    assert [(m.to, m.subject) for m in mail.outbox] == [(["new@example.com"], "Welcome to FlowMart")]
