"""Fixtures of the notifications tests: publish an event, run its handlers, send what they queued."""

from __future__ import annotations

import pytest
from django.db import transaction

from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from notifications.testing import send_queued_notifications


def send_queued() -> list[str]:
    """Send every queued notification now, as the Celery task would (retries included)."""
    return send_queued_notifications()


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
