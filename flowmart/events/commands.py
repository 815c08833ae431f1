"""Durable follow-up work: a task recorded in the transaction that made it necessary (the outbox of commands).

An event handler (or any service) that needs work done outside its transaction (a refund, a capture, a
restock that calls other apps) calls ``command_queue(task_name, **kwargs)`` instead of
``queue_after_commit``. The ``Command`` row commits with the handler's writes and its inbox row, so the work
exists if and only if the change does; after commit its task is sent. If the broker is down at that moment,
or the message is lost with a Redis restart, ``redeliver_events_task`` sends it again. Each run claims the row
first, so two copies of the message never run the task at once, and a finished command is not run again:
together with the idempotent services the tasks call, the work happens exactly once.
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from functools import partial

import structlog
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from flowmart.events.dispatcher import DeliveryOutcome, dead_rows_retry, retry_delay
from flowmart.events.models import COMMANDS_OPEN, Command
from flowmart.events.publisher import PublishOutsideTransaction, not_queued
from flowmart.task_queue import queue_after_commit, registered_task

log = structlog.get_logger(__name__)

RUN_TASK = "flowmart.events.tasks.run_command_task"
RECOVERED_BY = "flowmart.events.tasks.redeliver_events_task (commands not done are sent again)"


def command_queue(task_name: str, **kwargs) -> Command:
    """Record that ``task_name(**kwargs)`` must run, in the caller's transaction, and send it after commit.

    Keyword arguments must be JSON values (ids, strings, numbers, lists and dicts of those). The task must
    be safe to run again (it calls idempotent services): after a worker dies mid-run it runs once more.
    """
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction(f"command_queue({task_name}) must run inside the transaction that needs it")
    registered_task(task_name)  # an unknown name is a programming error: fail inside the transaction
    correlation_id = str(structlog.contextvars.get_contextvars().get("correlation_id") or "")[:100]
    row = Command.objects.create(
        task_name=task_name, kwargs=kwargs, correlation_id=correlation_id, queued_at=timezone.now()
    )
    queue_after_commit(
        RUN_TASK, command_id=row.pk, recovered_by=RECOVERED_BY, on_send_failed=partial(not_queued, Command, [row.pk])
    )
    return row


def command_run(*, command_id: int) -> DeliveryOutcome:
    """Run one command's task at most once to success (no transaction is open while it runs)."""
    now = timezone.now()
    claimed = (
        Command.objects.filter(pk=command_id, status__in=COMMANDS_OPEN)
        .exclude(claimed_until__gt=now)
        .update(
            claimed_until=now + timedelta(seconds=settings.EVENTS_COMMAND_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    row = Command.objects.filter(pk=command_id).first()
    if row is None:
        return DeliveryOutcome("missing")
    if not claimed:  # done, dead, or another copy is running it right now
        return DeliveryOutcome(row.status if row.status not in COMMANDS_OPEN else "busy")

    with structlog.contextvars.bound_contextvars(
        correlation_id=row.correlation_id, command=row.task_name, command_id=row.pk
    ):
        try:
            registered_task(row.task_name)(**row.kwargs)  # the task's body, here (its own retries do not apply)
        except Exception as exc:
            return _command_failed(row, exc)
        Command.objects.filter(pk=row.pk).update(
            status=Command.Status.SUCCEEDED,
            processed_at=timezone.now(),
            claimed_until=None,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        log.info("command done", attempts=row.attempts)
    return DeliveryOutcome(Command.Status.SUCCEEDED)


def _command_failed(row: Command, exc: Exception) -> DeliveryOutcome:
    error = "".join(traceback.format_exception(exc))[-4000:]
    now = timezone.now()
    if row.attempts >= settings.EVENTS_COMMAND_MAX_ATTEMPTS:
        Command.objects.filter(pk=row.pk).update(
            status=Command.Status.DEAD, last_error=error, claimed_until=None, next_attempt_at=None, updated_at=now
        )
        log.error("command gave up; staff can retry it", attempts=row.attempts, error=str(exc))
        return DeliveryOutcome(Command.Status.DEAD)
    delay = retry_delay(row.attempts)
    due = now + timedelta(seconds=delay)
    Command.objects.filter(pk=row.pk).update(
        status=Command.Status.RETRYING,
        last_error=error,
        claimed_until=None,
        next_attempt_at=due,
        queued_at=due,  # the caller sends it with that countdown
        updated_at=now,
    )
    log.warning("command failed; will retry", attempts=row.attempts, retry_in=delay, error=str(exc))
    return DeliveryOutcome(Command.Status.RETRYING, retry_in=delay)


def commands_retry(*, command_ids: list[int]) -> list[int]:
    """Staff give dead (or waiting) commands another go: fresh attempts, sent after commit."""
    return dead_rows_retry(Command, command_ids, task=RUN_TASK, id_argument="command_id", recovered_by=RECOVERED_BY)
