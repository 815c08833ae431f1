"""The worker keeps its database connections across tasks, and still replaces one the database dropped."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import transaction
from django.db.backends.signals import connection_created

from flowmart.events.models import Delivery
from flowmart.events.publisher import publish
from tests.faults.processes_money import terminate_other_backends
from tests.testapp.events import SpineProbe
from tests.testapp.models import Effect

HANDLER = "tests.testapp.handlers.record_probe_effect"


def publish_probe() -> SpineProbe:
    key = uuid.uuid4().hex[:12]
    event = SpineProbe(correlation_id=f"probe:{key}", key=key, behaviour="ok")
    with transaction.atomic():
        publish(event)
    return event


@pytest.fixture
def worker_connections():
    """New database connections opened by threads other than the test's own (the worker's)."""
    opened = []
    test_thread = threading.get_ident()

    def count(sender, connection, **kwargs):
        if threading.get_ident() != test_thread:
            opened.append(threading.get_ident())

    connection_created.connect(count, weak=False)
    yield opened
    connection_created.disconnect(count)


def handled(event) -> bool:
    return Delivery.objects.filter(event_id=event.event_id, handler=HANDLER, status=Delivery.Status.SUCCEEDED).exists()


@pytest.mark.worker
def test_the_worker_does_not_open_a_connection_per_task(celery_worker, wait_until, worker_connections):
    for _ in range(12):  # one after the other: each event is a dispatch and a delivery, at least two tasks
        event = publish_probe()
        wait_until(lambda event=event: handled(event), message="event handled")

    # At most one connection per worker thread (the fixture's pool has 4), however many tasks ran:
    # Celery's default (a fresh connection for every task) opened 24 or more here.
    assert len(worker_connections) <= 4
    assert len(set(worker_connections)) == len(worker_connections)


@pytest.mark.worker
def test_a_connection_the_database_dropped_between_tasks_is_replaced_without_a_failed_attempt(
    celery_worker, wait_until, worker_connections
):
    first = publish_probe()
    wait_until(lambda: handled(first), message="first event handled")
    assert terminate_other_backends() >= 1  # the worker's idle connections

    second = publish_probe()

    wait_until(lambda: handled(second), message="event after the drop handled")
    delivery = Delivery.objects.get(event_id=second.event_id, handler=HANDLER)
    assert (delivery.attempts, delivery.last_error) == (1, "")
    assert Effect.objects.filter(key=second.key).count() == 1
