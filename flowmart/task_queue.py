"""``queue_after_commit()``: send a Celery task once the caller's transaction commits.

Callers name the task by its registered name instead of importing it: a
service that imported its app's ``tasks`` module (which imports the service)
closed an import cycle. Keyword arguments only, so a task's signature is read
where it is declared, not guessed from argument positions.

The broker can be down at the moment of commit. The work is then not lost,
because some sweep finds it in the database later; ``recovered_by`` says which
one, so the warning tells the on-call engineer what will pick it up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import structlog
from celery import Task
from django.db import transaction

from flowmart.celery import app

log = structlog.get_logger(__name__)


def queue_after_commit(
    task_name: str,
    *,
    recovered_by: str,
    countdown: float | None = None,
    on_send_failed: Callable[[], None] | None = None,
    **kwargs: Any,
) -> None:
    """Send ``task_name(**kwargs)`` after commit (at once outside a transaction), never raising once committed.

    ``recovered_by`` names what re-does the work if the send fails (usually a beat task);
    ``countdown`` delays the task by that many seconds; ``on_send_failed`` runs when the send failed
    (the outbox uses it to mark its row as not queued, so its sweep sends it at the next run).
    """
    task = registered_task(task_name)  # an unknown name is a programming error: fail inside the transaction
    send = partial(_send, task, kwargs, countdown=countdown, recovered_by=recovered_by, on_send_failed=on_send_failed)
    transaction.on_commit(send, robust=True)


def registered_task(task_name: str) -> Task:
    """The task registered under ``task_name``. A web process has not imported the apps' ``tasks``
    modules (only workers do at start), so a miss imports them once before it counts as unknown."""
    if task_name not in app.tasks:
        app.autodiscover_tasks(force=True)
    return app.tasks[task_name]


def send_task_now(
    task_name: str, *, recovered_by: str, on_send_failed: Callable[[], None] | None = None, **kwargs: Any
) -> None:
    """Send ``task_name(**kwargs)`` now, never raising: for an ``on_commit`` callback a caller builds itself
    (the outbox sends one relay task per transaction, however many events it published)."""
    _send(registered_task(task_name), kwargs, countdown=None, recovered_by=recovered_by, on_send_failed=on_send_failed)


def _send(
    task: Task, kwargs: dict, *, countdown: float | None, recovered_by: str, on_send_failed: Callable[[], None] | None
) -> None:
    try:
        # ``apply_async`` (not ``app.send_task``) so that ``task_always_eager`` is honoured;
        # no retry: with the broker down, the request should not wait, the sweep will do it.
        task.apply_async(kwargs=kwargs, countdown=countdown, retry=False)
    except Exception:  # the business transaction is committed; a failed send must not undo its response
        log.warning(
            "task could not be queued; its sweep will pick the work up",
            task=task.name,
            task_kwargs=kwargs,
            recovered_by=recovered_by,
            exc_info=True,
        )
        if on_send_failed is not None:
            try:
                on_send_failed()
            except Exception:  # best effort (the database may be down too): the visibility timeout still applies
                log.warning("could not record that the task was not queued", task=task.name, exc_info=True)
