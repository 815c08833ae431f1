"""``publish()``: write the event to the outbox inside the caller's transaction."""

from __future__ import annotations

import structlog
from django.db import connection, transaction

from flowmart.events.base import Event
from flowmart.events.models import OutboxEvent

log = structlog.get_logger(__name__)


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
    )
    transaction.on_commit(lambda: _send_dispatch(row.event_id), robust=True)
    return row


def _send_dispatch(event_id) -> None:
    from flowmart.events.tasks import dispatch_event_task

    try:
        dispatch_event_task.apply_async(args=[str(event_id)], retry=False)
    except Exception:  # broker down: the outbox row stays undispatched and is re-sent by beat
        log.warning("event dispatch could not be queued; will be re-delivered", event_id=str(event_id), exc_info=True)
