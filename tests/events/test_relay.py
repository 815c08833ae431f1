"""The relay: one task per transaction that published (none while one already waits in the queue), none for an
event nobody listens to, batches claimed with SKIP LOCKED and handled in the relay's process."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from flowmart.events import dispatcher
from flowmart.events.models import Delivery, OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.tasks import relay_events_task
from flowmart.events.testing import broker_at
from tests.testapp.events import SpineProbe, UnheardProbe
from tests.testapp.models import Effect

HANDLER = "tests.testapp.handlers.record_probe_effect"


def probe() -> SpineProbe:
    key = uuid.uuid4().hex[:12]
    return SpineProbe(correlation_id=f"probe:{key}", key=key)


@pytest.fixture
def queued_tasks():
    """Messages waiting in this deployment's Celery queue (a Redis list), emptied first. The broker is the
    Redis of ``REDIS_URL`` (``CELERY_BROKER_URL`` may be kombu's ``redis+socket://``, which redis-py cannot open)."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    broker.delete(queue)
    yield lambda: broker.llen(queue)
    broker.delete(queue)


def test_an_event_nobody_subscribes_to_is_recorded_dispatched_and_sends_no_task(transactional_db, queued_tasks):
    event = UnheardProbe(correlation_id="probe:unheard", key="u1")
    with transaction.atomic():
        publish(event)

    row = OutboxEvent.objects.get(event_id=event.event_id)
    assert row.dispatched_at is not None
    assert queued_tasks() == 0
    assert not Delivery.objects.filter(event=row).exists()


def test_a_transaction_that_publishes_three_events_sends_one_relay_task(transactional_db, queued_tasks):
    with transaction.atomic():
        for _ in range(3):
            publish(probe())
    assert queued_tasks() == 1


def test_events_of_a_rolled_back_savepoint_leave_the_transactions_relay_task_in_place(transactional_db, queued_tasks):
    kept = probe()
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(probe())
            raise RuntimeError("the inner change failed")
        publish(kept)
    assert queued_tasks() == 1
    assert list(OutboxEvent.objects.values_list("event_id", flat=True)) == [kept.event_id]


def test_a_claim_skips_rows_another_relay_holds_and_creates_all_deliveries_of_its_batch(transactional_db):
    held, free = probe(), probe()
    for event in (held, free):
        with transaction.atomic():
            publish(event)

    locked = threading.Event()
    release = threading.Event()

    def other_relay():
        with transaction.atomic():
            OutboxEvent.objects.select_for_update().filter(pk=held.event_id).first()
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert locked.wait(10)
        ids = dispatcher.events_claim(limit=10)
    finally:
        release.set()
        thread.join()

    assert list(Delivery.objects.filter(pk__in=ids).values_list("event_id", "handler")) == [(free.event_id, HANDLER)]
    assert OutboxEvent.objects.get(pk=held.event_id).dispatched_at is None
    assert OutboxEvent.objects.get(pk=free.event_id).dispatched_at is not None


@pytest.mark.worker
def test_a_burst_of_events_is_handled_once_each_by_relays(celery_worker, wait_until):
    events = [probe() for _ in range(60)]
    for event in events:
        with transaction.atomic():
            publish(event)

    keys = [e.key for e in events]
    wait_until(lambda: Effect.objects.filter(key__in=keys).count() == 60, message="all 60 effects")
    wait_until(
        lambda: Delivery.objects.filter(handler=HANDLER, status=Delivery.Status.SUCCEEDED).count() == 60,
        message="all deliveries succeeded",
    )
    assert set(Delivery.objects.filter(handler=HANDLER).values_list("attempts", flat=True)) == {1}
    assert Effect.objects.filter(key__in=keys).count() == 60


def test_transactions_that_commit_while_a_relay_task_waits_send_none_and_the_waiting_relay_handles_them(
    transactional_db, queued_tasks, settings
):
    settings.EVENTS_RELAY_WAITING_SECONDS = 600  # the mark outlasts the test, however slow the machine
    events = [probe() for _ in range(3)]
    for event in events:  # no worker: the first transaction's relay task waits in the queue
        with transaction.atomic():
            publish(event)
    assert queued_tasks() == 1

    assert relay_events_task() == 3  # the waiting task, run here: it claims what all three published

    assert set(Effect.objects.values_list("key", flat=True)) == {e.key for e in events}
    later = probe()
    with transaction.atomic():
        publish(later)  # the relay has started: a transaction committed since then sends a task of its own
    assert queued_tasks() == 2


def test_a_relay_task_that_could_not_be_sent_leaves_the_next_transaction_to_send_one(transactional_db, queued_tasks):
    lost = probe()
    with broker_at("redis://127.0.0.1:1/0"), transaction.atomic():  # nothing listens there: the send fails
        publish(lost)
    assert queued_tasks() == 0
    assert OutboxEvent.objects.get(pk=lost.event_id).queued_at is None  # the sweep's to send

    with transaction.atomic():
        publish(probe())
    assert queued_tasks() == 1
