"""Fan-out and delivery: the code the Celery tasks (and the test drain) run.

Guarantees, in order of importance:

* An outbox row gets one ``Delivery`` per subscribed handler, whoever
  dispatches it and however often (unique constraint + ``ignore_conflicts``).
* A delivery runs under a row lock, and the handler's database work commits
  in the same transaction that marks the delivery ``succeeded``: a redelivered
  or concurrently delivered event has its effect exactly once.
* A failing attempt is rolled back to a savepoint, recorded, and retried with
  exponential back-off; after ``EVENTS_MAX_ATTEMPTS`` it is a dead letter.

Handlers should only touch the database; work that talks to the outside world
(payments, carriers, email) is recorded by the handler as a durable command
(``flowmart.events.commands.command_queue``), so no transaction is held open across
a network call and nothing is lost if the broker is down at commit.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from flowmart.events import metrics
from flowmart.events.base import event_class
from flowmart.events.models import Command, Delivery, OutboxEvent
from flowmart.events.publisher import not_queued
from flowmart.events.registry import subscription, subscriptions_for
from flowmart.task_queue import queue_after_commit

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    retry_in: float | None = None


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure: base · 2^(n-1), capped."""
    delay = settings.EVENTS_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(delay, settings.EVENTS_RETRY_MAX_SECONDS)


def event_dispatch(*, event_id) -> list[int]:
    """Create the deliveries for one outbox row; return the ids whose task the caller must send now.

    Those are the deliveries this call created, and pending ones nobody sent within the visibility timeout
    (``EVENTS_REDELIVER_AFTER_SECONDS``): a dispatch that runs twice does not queue the same deliveries twice.
    """
    with transaction.atomic():
        row = OutboxEvent.objects.select_for_update().filter(pk=event_id).first()
        if row is None:
            return []
        now = timezone.now()
        Delivery.objects.bulk_create(
            [Delivery(event=row, handler=s.handler_name, queued_at=now) for s in subscriptions_for(row.name)],
            ignore_conflicts=True,
        )
        if row.dispatched_at is None:
            row.dispatched_at = now
            row.save(update_fields=["dispatched_at"])
        created = Q(queued_at=now)
        return queue_take(
            Delivery.objects.filter(event=row, status=Delivery.Status.PENDING).filter(created | _not_queued(now)),
            now=now,
        )


def events_claim(*, limit: int = 100) -> list[int]:
    """Claim up to ``limit`` undispatched outbox rows at once and create all their deliveries; return the
    ids of the deliveries the caller must run now (the relay runs them in its own process).

    Rows another relay holds are skipped (``FOR UPDATE SKIP LOCKED``), so relays running side by side take
    disjoint batches. The deliveries are marked queued now: if the caller dies before running them, the
    redelivery sweep sends them after the visibility timeout, as for any task lost with its worker.
    """
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("created_at")
            .only("event_id", "name")[:limit]
        )
        if not rows:
            return []
        now = timezone.now()
        Delivery.objects.bulk_create(
            [
                Delivery(event=row, handler=s.handler_name, queued_at=now)
                for row in rows
                for s in subscriptions_for(row.name)
            ],
            ignore_conflicts=True,
        )
        event_ids = [row.pk for row in rows]
        OutboxEvent.objects.filter(pk__in=event_ids).update(dispatched_at=now)
        return queue_take(
            Delivery.objects.filter(event_id__in=event_ids, status=Delivery.Status.PENDING).filter(
                Q(queued_at=now) | _not_queued(now)
            ),
            now=now,
        )


def delivery_run(*, delivery_id: int) -> DeliveryOutcome:
    """Run one handler for one event, at most once to success."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("event").filter(pk=delivery_id).first()
        if delivery is None:
            return DeliveryOutcome("missing")
        if delivery.status in (Delivery.Status.SUCCEEDED, Delivery.Status.DEAD):
            return DeliveryOutcome(delivery.status)

        row = delivery.event
        sub = subscription(row.name, delivery.handler)
        cls = event_class(row.name)
        delivery.attempts += 1
        if sub is None or cls is None:
            delivery.status = Delivery.Status.DEAD
            delivery.last_error = f"no handler {delivery.handler!r} is subscribed to {row.name!r} any more"
            delivery.save()
            return DeliveryOutcome(delivery.status)

        event = cls.from_record(
            event_id=row.event_id,
            occurred_at=row.occurred_at,
            correlation_id=row.correlation_id,
            causation_id=row.causation_id,
            payload=row.payload,
        )
        bound = structlog.contextvars.bound_contextvars(
            correlation_id=row.correlation_id, event=row.name, event_id=str(row.event_id), handler=delivery.handler
        )
        with bound:
            try:
                with transaction.atomic():  # savepoint: a failed attempt leaves nothing behind
                    sub.func(event)
            except Exception as exc:
                delivery.last_error = "".join(traceback.format_exception(exc))[-4000:]
                if delivery.attempts >= settings.EVENTS_MAX_ATTEMPTS:
                    delivery.status = Delivery.Status.DEAD
                    delivery.next_attempt_at = None
                    delivery.save()
                    log.error("event handler gave up; parked as dead letter", attempts=delivery.attempts)
                    metrics.DELIVERIES_RUN.labels(Delivery.Status.DEAD).inc()
                    return DeliveryOutcome(delivery.status)
                delay = retry_delay(delivery.attempts)
                delivery.status = Delivery.Status.RETRYING
                delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
                delivery.queued_at = delivery.next_attempt_at  # the caller sends it with that countdown
                delivery.save()
                metrics.DELIVERIES_RUN.labels(Delivery.Status.RETRYING).inc()
                log.warning(
                    "event handler failed; will retry", attempts=delivery.attempts, retry_in=delay, error=str(exc)
                )
                return DeliveryOutcome(delivery.status, retry_in=delay)

            delivery.status = Delivery.Status.SUCCEEDED
            delivery.processed_at = timezone.now()
            delivery.next_attempt_at = None
            delivery.save()
            log.info("event handled", attempts=delivery.attempts)
            transaction.on_commit(partial(_count_handled, row.created_at))
            return DeliveryOutcome(delivery.status)


def _count_handled(published_at) -> None:
    metrics.DELIVERIES_RUN.labels(Delivery.Status.SUCCEEDED).inc()
    metrics.HANDLED_LAG.observe(max((timezone.now() - published_at).total_seconds(), 0.0))


@dataclass(frozen=True)
class Redelivery:
    """What the sweep must send again: outbox events, deliveries and commands, each marked queued now."""

    events: list
    deliveries: list[int]
    commands: list[int]


def _not_queued(now, visibility: float | None = None) -> Q:
    """Rows whose task was never sent, failed to send, or was sent longer ago than the visibility timeout."""
    seconds = settings.EVENTS_REDELIVER_AFTER_SECONDS if visibility is None else visibility
    return Q(queued_at__isnull=True) | Q(queued_at__lte=now - timedelta(seconds=seconds))


def queue_take(queryset, *, now, limit: int = 1000) -> list:
    """Mark up to ``limit`` rows of ``queryset`` queued at ``now`` and return their ids (rows another
    sweep holds are skipped). The caller sends their tasks after this commits, and marks a failed send
    with ``publisher.not_queued``."""
    with transaction.atomic():
        ids = list(queryset.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)[:limit])
        queryset.model.objects.filter(pk__in=ids).update(queued_at=now)
    return ids


def events_redeliver(*, older_than_seconds: float | None = None) -> Redelivery:
    """Find what a crash, a lost message or a broker outage left behind, and mark it queued.

    A row is sent again only when its task was never sent, failed to send, or was sent more than
    ``older_than_seconds`` (default ``EVENTS_REDELIVER_AFTER_SECONDS``, the visibility timeout) ago: a
    backlog waiting in the broker is not queued a second time at every run. Running anything twice stays
    harmless by construction; this only keeps the queue from filling with copies.
    """
    now = timezone.now()
    waiting = _not_queued(now, older_than_seconds)
    open_statuses = [Delivery.Status.PENDING, Delivery.Status.RETRYING]
    return Redelivery(
        events=queue_take(OutboxEvent.objects.filter(dispatched_at__isnull=True).filter(waiting), now=now),
        deliveries=queue_take(Delivery.objects.filter(status__in=open_statuses).filter(waiting), now=now),
        commands=queue_take(
            Command.objects.filter(status__in=open_statuses).filter(waiting).exclude(claimed_until__gt=now), now=now
        ),
    )


def dead_rows_retry(model, ids: list[int], *, task: str, id_argument: str, recovered_by: str) -> list[int]:
    """Staff give dead (or waiting) deliveries or commands another go: fresh attempts, their task sent after
    commit. Returns the ids that were dead or waiting (others are left as they are)."""
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update()
            .filter(pk__in=ids, status__in=[model.Status.DEAD, model.Status.RETRYING])
            .values_list("id", flat=True)
        )
        now = timezone.now()
        model.objects.filter(pk__in=ids).update(
            status=model.Status.PENDING, attempts=0, next_attempt_at=None, queued_at=now, updated_at=now
        )
        for row_id in ids:
            queue_after_commit(
                task,
                **{id_argument: row_id},
                recovered_by=recovered_by,
                on_send_failed=partial(not_queued, model, [row_id]),
            )
    return ids


def deliveries_retry(*, delivery_ids: list[int]) -> list[int]:
    """Staff give dead letters another go: fresh attempts, queued after commit."""
    return dead_rows_retry(
        Delivery,
        delivery_ids,
        task="flowmart.events.tasks.handle_event_task",
        id_argument="delivery_id",
        recovered_by="flowmart.events.tasks.redeliver_events_task",
    )
