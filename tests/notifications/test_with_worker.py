"""End to end on a real Celery worker: event → handler → after-commit send task → one email."""

from __future__ import annotations

import pytest
from django.core import mail

from flowmart.users.services import user_signed_up
from notifications.models import Notification
from tests.users.factories import UserFactory


@pytest.mark.worker
def test_sign_up_welcome_email_arrives_once_through_the_worker(celery_worker, wait_until):
    user = UserFactory(email="newbie@example.com", full_name="Nia Newbie")

    user_signed_up(user=user)

    wait_until(lambda: len(mail.outbox) >= 1, message="the welcome email")
    wait_until(
        lambda: Notification.objects.filter(recipient=user, status="sent").exists(), message="the sent notification"
    )
    assert [(m.to, m.subject) for m in mail.outbox] == [(["newbie@example.com"], "Welcome to FlowMart")]
    assert Notification.objects.get(recipient=user).attempts == 1
