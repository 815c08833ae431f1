"""``publish()``: write the event to the outbox inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from flowmart.events.base import Event
from flowmart.events.models import OutboxEvent
from flowmart.events.registry import subscriptions_for
from flowmart.task_queue import registered_task, send_task_now

RELAY_TASK = "flowmart.events.tasks.relay_events_task"
RECOVERED_BY = "flowmart.events.tasks.redeliver_events_task"


class PublishOutsideTransaction(RuntimeError):
    pass


def publish(event: Event) -> OutboxEvent:
    """Record ``event`` so that it exists if and only if the caller's transaction commits.

    Must be called inside ``transaction.atomic()`` (the one that made the
    change). After commit one relay task (one per transaction, however many events it published, and none when
    a relay task already waits in the queue: ``relay_request``) hands the outbox to the worker; if the broker is
    unreachable then, the beat task ``redeliver_events_task`` picks the rows up later. An event no handler subscribes to is recorded already dispatched and costs
    no task at all.
    """
    return publish_all([event])[0]


def publish_all(events: list[Event]) -> list[OutboxEvent]:
    """``publish`` for several events of one change: one insert for all their outbox rows."""
    for event in events:
        if not connection.in_atomic_block:
            raise PublishOutsideTransaction(
                f"publish({event.name}) must run inside the transaction that made the change"
            )
    now = timezone.now()
    rows = []
    for event in events:
        subscribed = bool(subscriptions_for(event.name))
        rows.append(
            OutboxEvent(
                event_id=event.event_id,
                name=event.name,
                version=event.version,
                producer=event.producer,
                occurred_at=event.occurred_at,
                correlation_id=event.correlation_id,
                causation_id=event.causation_id,
                payload=event.payload(),
                queued_at=now if subscribed else None,
                dispatched_at=None if subscribed else now,
            )
        )
    rows = OutboxEvent.objects.bulk_create(rows)
    for row in rows:
        if row.dispatched_at is None:
            _relay_after_commit(row.pk)
    return rows


@dataclass
class _RelayAfterCommit:
    """The on-commit callback that sends the relay task for the events one transaction published."""

    event_ids: list = field(default_factory=list)

    def __call__(self) -> None:
        relay_request(on_send_failed=partial(not_queued, OutboxEvent, self.event_ids))


def _relay_waiting_key() -> str:
    return f"events:relay-waiting:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def relay_request(*, on_send_failed=None) -> None:
    """Send a relay task unless one already waits in the queue: that one claims every undispatched row when it
    starts (``relay_started`` clears the mark before its first claim), these committed ones included. At 200
    transactions per second this saves nearly every relay task and its empty claim. With Redis away the mark
    cannot be read, and the task is sent (whose send then decides, as without the mark)."""
    key = _relay_waiting_key()
    if not cache.add(key, 1, timeout=settings.EVENTS_RELAY_WAITING_SECONDS) and cache.get(key) is not None:
        return

    def send_failed() -> None:
        cache.delete(key)  # the next transaction tries again
        if on_send_failed is not None:
            on_send_failed()

    send_task_now(RELAY_TASK, recovered_by=RECOVERED_BY, on_send_failed=send_failed)


def relay_started() -> None:
    """A relay task starts: from now on a transaction that commits sends a new one (this one may have claimed
    its last batch before that transaction's rows existed)."""
    cache.delete(_relay_waiting_key())


def _relay_after_commit(event_id) -> None:
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _RelayAfterCommit):
            callback.event_ids.append(event_id)
            return
    registered_task(RELAY_TASK)  # an unknown name is a programming error: fail inside the transaction
    transaction.on_commit(_RelayAfterCommit([event_id]), robust=True)


def not_queued(model, ids: list) -> None:
    """The task for these outbox / delivery / command rows could not be sent: the next sweep sends it."""
    model.objects.filter(pk__in=ids).update(queued_at=None)
