"""Some days after delivery the customer is asked to rate the order (signed link, no login); staff see CSAT."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.utils import timezone

from notifications import services
from notifications.models import Feedback
from orders.events import OrderCompleted
from tests.notifications.events import ORDER


def completed(user) -> OrderCompleted:
    return OrderCompleted(
        correlation_id=ORDER, order_number=ORDER, user_id=str(user.public_id), customer_email=user.email
    )


def _feedback_path(email) -> str:
    match = re.search(r"http://127\.0\.0\.1:8000(/feedback/\S+/)", email.body)
    assert match, email.body
    return match.group(1)


def test_feedback_is_requested_after_the_delay_and_only_once(customer, deliver, settings):
    deliver(completed(customer))
    feedback = Feedback.objects.get(order_number=ORDER)
    assert mail.outbox == []

    with time_machine.travel(timezone.now() + timedelta(days=settings.FEEDBACK_DELAY_DAYS) - timedelta(minutes=1)):
        assert services.feedback_requests_send_due() == 0
    with time_machine.travel(timezone.now() + timedelta(days=settings.FEEDBACK_DELAY_DAYS, minutes=1)):
        assert services.feedback_requests_send_due() == 1
        assert services.feedback_requests_send_due() == 0
        from tests.notifications.conftest import send_queued

        send_queued()

    assert [m.subject for m in mail.outbox] == [f"How was order {ORDER}?"]
    assert Feedback.objects.get(pk=feedback.pk).requested_at is not None


def test_rating_through_the_signed_link_without_login(customer, deliver, client, settings):
    deliver(completed(customer))
    with time_machine.travel(timezone.now() + timedelta(days=settings.FEEDBACK_DELAY_DAYS, minutes=1)):
        services.feedback_requests_send_due()
        from tests.notifications.conftest import send_queued

        send_queued()
    path = _feedback_path(mail.outbox[0])

    page = client.get(path)
    assert page.status_code == 200
    assert f"How was order {ORDER}?" in page.content.decode()

    response = client.post(path, {"rating": "4", "comment": "  Quick delivery, box was dented. "})
    assert response.status_code == 200
    assert f"You rated order {ORDER} 4 out of 5." in response.content.decode()
    feedback = Feedback.objects.get(order_number=ORDER)
    assert (feedback.rating, feedback.comment) == (4, "Quick delivery, box was dented.")

    again = client.post(path, {"rating": "1"})
    assert f"We already have your rating for order {ORDER}: 4 out of 5." in again.content.decode()
    assert Feedback.objects.get(order_number=ORDER).rating == 4


def test_invalid_rating_is_a_form_error(customer, client):
    services.feedback_schedule(order_number=ORDER, user_id=str(customer.public_id), email=customer.email)
    from notifications.links import feedback_url

    path = feedback_url(order_number=ORDER).removeprefix("http://127.0.0.1:8000")

    response = client.post(path, {"rating": "9"})

    assert response.status_code == 400
    assert "Select a valid choice. 9 is not one of the available choices." in response.content.decode()
    assert Feedback.objects.get(order_number=ORDER).rating is None


def test_forged_feedback_link_is_refused(db, client):
    response = client.get("/feedback/FM-7Q2K9D4X:forged/")

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_csat_on_the_staff_feedback_page(staff_user, client):
    now = timezone.now()
    for i, rating in enumerate([5, 4, 2, None]):
        Feedback.objects.create(
            order_number=f"FM-{i}",
            email=f"c{i}@example.com",
            due_at=now,
            requested_at=now,
            rating=rating,
            submitted_at=now if rating else None,
        )
    client.force_login(staff_user)

    page = client.get("/admin/notifications/feedback/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>66.7%</strong> satisfied (rated 4 or 5)" in html
    assert "average 3.67 / 5" in html
    assert "3 responses to 4 requests" in html
    assert "(75.0%)" in html
