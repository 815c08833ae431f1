"""With a real Celery worker: the event, the label task queued after commit, and the beat task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from flowmart.events.publisher import publish
from shipping.demo import seed_demo_shipping
from shipping.models import Shipment
from shipping.tasks import poll_tracking_task
from tests.shipping.factories import order_confirmed, order_line


def status_of(order_number):
    shipment = Shipment.objects.filter(order_number=order_number).first()
    return shipment.status if shipment else None


@pytest.mark.worker
def test_order_confirmed_to_delivered_with_the_real_worker(celery_worker, wait_until, customer):
    seed_demo_shipping(currency="USD")
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=True) as clock:
        with transaction.atomic():
            publish(order_confirmed("FM-WORKER01", user=customer, lines=[order_line("TEE", quantity=1)]))

        # The handler creates the shipment; its label task, queued after commit, labels it.
        wait_until(lambda: status_of("FM-WORKER01") == "label_created", message="label created by the worker")

        for expected in ("dispatched", "in_transit", "delivered"):
            clock.shift(timedelta(hours=1))
            poll_tracking_task.delay()
            wait_until(lambda e=expected: status_of("FM-WORKER01") == e, message=f"shipment {expected}")
