"""Fixtures of the notifications tests: publish an event, run its handlers, send what they queued."""

from __future__ import annotations

import pytest
from django.db import transaction

from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from notifications import services
from notifications.models import Notification


def send_queued() -> list[str]:
    """Send every queued notification now, as the Celery task would (retries included)."""
    outcomes = []
    for _ in range(20):
        ids = list(
            Notification.objects.filter(status=Notification.Status.QUEUED).order_by("id").values_list("id", flat=True)
        )
        if not ids:
            break
        for notification_id in ids:
            outcomes.append(services.notification_send(notification_id=notification_id).status)
        if all(o != "retrying" for o in outcomes[-len(ids) :]):
            break
    return outcomes


@pytest.fixture
def deliver():
    """Publish events (committed in the test's transaction), run the handlers, send the messages."""

    def _deliver(*events) -> list[str]:
        for event in events:
            with transaction.atomic():
                publish(event)
        deliver_pending()
        return send_queued()

    return _deliver


@pytest.fixture
def sms_phone_customer(customer):
    customer.phone = "+15555550123"
    customer.save(update_fields=["phone"])
    return customer
