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


class FlakyEmailBackend:
    """The provider times out once, then accepts (a stand-in at the edge of the world)."""

    calls = 0

    def send(self, message):
        from notifications.channels.base import SendResult, TransientChannelError

        type(self).calls += 1
        if type(self).calls == 1:
            raise TransientChannelError("timed out")
        return SendResult(provider_message_id=f"flaky-{type(self).calls}")


@pytest.mark.worker
def test_transient_failure_is_retried_on_the_worker_with_back_off(celery_worker, wait_until, settings):
    settings.NOTIFICATIONS_EMAIL_BACKEND = "tests.notifications.test_with_worker.FlakyEmailBackend"
    FlakyEmailBackend.calls = 0
    user = UserFactory(email="flaky@example.com")

    user_signed_up(user=user)

    notification = wait_until(
        lambda: Notification.objects.filter(recipient=user, status="sent").first(), message="sent after a retry"
    )
    assert (notification.attempts, notification.provider_message_id) == (2, "flaky-2")
    assert [t.to_state for t in notification.transitions.all()] == ["sent"]
