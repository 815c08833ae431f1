"""``publish()``: write the event to the outbox inside the caller's transaction."""

from __future__ import annotations

from functools import partial

from django.db import connection
from django.utils import timezone

from flowmart.events.base import Event
from flowmart.events.models import OutboxEvent
from flowmart.task_queue import queue_after_commit


class PublishOutsideTransaction(RuntimeError):
    pass


def publish(event: Event) -> OutboxEvent:
    """Record ``event`` so that it exists if and only if the caller's transaction commits.

    Must be called inside ``transaction.atomic()`` (the one that made the
    change). Delivery starts after commit; if the broker is unreachable then,
    the beat task ``redeliver_events_task`` picks the row up later.
    """
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction(f"publish({event.name}) must run inside the transaction that made the change")
    row = OutboxEvent.objects.create(
        event_id=event.event_id,
        name=event.name,
        version=event.version,
        producer=event.producer,
        occurred_at=event.occurred_at,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        payload=event.payload(),
        queued_at=timezone.now(),
    )
    queue_after_commit(
        "flowmart.events.tasks.dispatch_event_task",
        event_id=str(row.event_id),
        recovered_by="flowmart.events.tasks.redeliver_events_task",
        on_send_failed=partial(not_queued, OutboxEvent, [row.pk]),
    )
    return row


def not_queued(model, ids: list) -> None:
    """The task for these outbox / delivery / command rows could not be sent: the next sweep sends it."""
    model.objects.filter(pk__in=ids).update(queued_at=None)
