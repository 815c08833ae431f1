"""The event spine's guarantees (docs/architecture.md §Events), proven with a real Celery worker."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.urls import reverse

from flowmart.events.models import Delivery, OutboxEvent
from flowmart.events.publisher import PublishOutsideTransaction, publish
from flowmart.events.tasks import handle_event_task, redeliver_events_task
from flowmart.events.testing import broker_at
from tests.testapp.events import SpineProbe
from tests.testapp.handlers import probe_redis
from tests.testapp.models import Effect

HANDLER = "tests.testapp.handlers.record_probe_effect"


def probe(behaviour: str = "ok") -> SpineProbe:
    key = uuid.uuid4().hex[:12]
    return SpineProbe(correlation_id=f"probe:{key}", key=key, behaviour=behaviour)


def publish_committed(event) -> None:
    with transaction.atomic():
        publish(event)


def delivery_of(event) -> Delivery | None:
    return Delivery.objects.filter(event_id=event.event_id, handler=HANDLER).first()


def broker_unreachable():
    """Point the Celery app at a port nothing listens on, as when Redis is down."""
    return broker_at("redis://127.0.0.1:9/0")


def test_publish_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(PublishOutsideTransaction):
        publish(probe())


@pytest.mark.worker
def test_committed_event_is_delivered_once(celery_worker, wait_until):
    event = probe()
    publish_committed(event)

    wait_until(lambda: Effect.objects.filter(key=event.key).exists(), message="the handler's effect")
    delivery = wait_until(
        lambda: (d := delivery_of(event)) and d.status == Delivery.Status.SUCCEEDED and d, message="delivery success"
    )
    assert delivery.attempts == 1
    assert Effect.objects.filter(key=event.key).count() == 1


@pytest.mark.worker
def test_event_of_a_rolled_back_transaction_is_never_delivered(celery_worker, wait_until):
    doomed = probe()
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(doomed)
        raise RuntimeError("the change failed")

    # A later committed event is the barrier: once it is handled, the worker has had its chance.
    barrier = probe()
    publish_committed(barrier)
    wait_until(lambda: Effect.objects.filter(key=barrier.key).exists(), message="the barrier event")
    redeliver_events_task.delay(older_than_seconds=0)
    wait_until(lambda: Effect.objects.filter(key=barrier.key).count() == 1, message="quiet queue")

    assert not OutboxEvent.objects.filter(event_id=doomed.event_id).exists()
    assert not Effect.objects.filter(key=doomed.key).exists()
    assert probe_redis().get(f"probe:attempts:{doomed.key}") is None


@pytest.mark.worker
def test_event_committed_while_broker_is_down_is_delivered_by_redelivery(celery_worker, wait_until):
    event = probe()
    with broker_unreachable():
        publish_committed(event)  # commit succeeds; queuing the dispatch fails and is logged

    row = OutboxEvent.objects.get(event_id=event.event_id)
    assert row.dispatched_at is None
    assert not Effect.objects.filter(key=event.key).exists()

    redeliver_events_task.delay(older_than_seconds=0)  # what beat runs every 30 s

    wait_until(lambda: Effect.objects.filter(key=event.key).exists(), message="redelivered effect")
    row.refresh_from_db()
    assert row.dispatched_at is not None
    assert Effect.objects.filter(key=event.key).count() == 1


@pytest.mark.worker
def test_handler_failing_twice_then_succeeding_has_its_effect_once(celery_worker, wait_until):
    event = probe("fail_twice")
    publish_committed(event)

    delivery = wait_until(
        lambda: (d := delivery_of(event)) and d.status == Delivery.Status.SUCCEEDED and d,
        message="success after retries",
    )
    assert delivery.attempts == 3
    assert int(probe_redis().get(f"probe:attempts:{event.key}")) == 3
    # Each failed attempt wrote an Effect before raising; only the successful one survived.
    assert Effect.objects.filter(key=event.key).count() == 1


@pytest.mark.worker
def test_duplicate_delivery_has_its_effect_once(celery_worker, wait_until):
    event = probe()
    publish_committed(event)
    delivery = wait_until(
        lambda: (d := delivery_of(event)) and d.status == Delivery.Status.SUCCEEDED and d, message="first delivery"
    )

    # The broker hands the same delivery out again, several times at once (at-least-once delivery).
    for _ in range(4):
        handle_event_task.delay(delivery.pk)
    redeliver_events_task.delay(older_than_seconds=0)
    barrier = probe()
    publish_committed(barrier)
    wait_until(lambda: Effect.objects.filter(key=barrier.key).exists(), message="barrier")

    assert Effect.objects.filter(key=event.key).count() == 1
    assert int(probe_redis().get(f"probe:attempts:{event.key}")) == 1


@pytest.mark.worker
def test_always_failing_handler_ends_as_dead_letter_that_staff_can_retry(
    celery_worker, wait_until, settings, client, staff_user
):
    settings.EVENTS_MAX_ATTEMPTS = 3
    event = probe("always_fail")
    publish_committed(event)

    delivery = wait_until(
        lambda: (d := delivery_of(event)) and d.status == Delivery.Status.DEAD and d, message="dead letter"
    )
    assert delivery.attempts == 3
    assert "scripted permanent failure" in delivery.last_error
    assert not Effect.objects.filter(key=event.key).exists()

    # Staff see it on the dead-letter screen...
    client.force_login(staff_user)
    listing = client.get(reverse("admin:events_deadletter_changelist"))
    assert HANDLER in listing.content.decode()

    # ...fix the cause, and retry it from the admin.
    probe_redis().set(f"probe:healed:{event.key}", "1")
    response = client.post(
        reverse("admin:events_deadletter_changelist"),
        {"action": "retry_deliveries", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "queued again" in response.content.decode()

    wait_until(lambda: delivery_of(event).status == Delivery.Status.SUCCEEDED, message="success after staff retry")
    assert Effect.objects.filter(key=event.key).count() == 1
    assert not client.get(reverse("admin:events_deadletter_changelist")).content.decode().count(HANDLER)
