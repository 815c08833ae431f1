"""For tests (any app's): send the notifications that handlers queued, as the Celery task would.

from flowmart.events.testing import deliver_pending
from notifications.testing import send_queued_notifications

user_signed_up(user=user)
deliver_pending()               # runs the handlers: Notification rows are queued
send_queued_notifications()     # sends them: emails land in django.core.mail.outbox
"""

from __future__ import annotations

from notifications import services
from notifications.models import Notification


def send_queued_notifications(*, max_rounds: int = 20) -> list[str]:
    """Send every queued notification now, oldest first, retrying transient failures; returns the outcomes."""
    outcomes: list[str] = []
    for _ in range(max_rounds):
        ids = list(
            Notification.objects.filter(status=Notification.Status.QUEUED).order_by("id").values_list("id", flat=True)
        )
        if not ids:
            break
        round_outcomes = [services.notification_send(notification_id=i).status for i in ids]
        outcomes += round_outcomes
        if "retrying" not in round_outcomes:
            break
    return outcomes
