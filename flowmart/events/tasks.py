from __future__ import annotations

import structlog
from celery import Task, shared_task

from flowmart.events import commands, dispatcher
from flowmart.events.models import Command, Delivery, OutboxEvent
from flowmart.events.publisher import not_queued

log = structlog.get_logger(__name__)


def _send_each(task: Task, *, model, key: str, ids: list, countdown: float | None = None) -> None:
    """Send ``task`` once per row id. A failed send (broker down) marks its row not queued, so the next
    redelivery sweep sends it instead of waiting out the visibility timeout."""
    failed = []
    for pk in ids:
        try:
            task.apply_async(kwargs={key: pk if isinstance(pk, int) else str(pk)}, countdown=countdown, retry=False)
        except Exception:
            failed.append(pk)
    if failed:
        log.warning("tasks could not be queued; the redelivery sweep sends them", task=task.name, count=len(failed))
        not_queued(model, failed)


@shared_task(acks_late=True)
def dispatch_event_task(event_id: str) -> None:
    ids = dispatcher.event_dispatch(event_id=event_id)
    _send_each(handle_event_task, model=Delivery, key="delivery_id", ids=ids)


@shared_task(acks_late=True)
def handle_event_task(delivery_id: int) -> str:
    outcome = dispatcher.delivery_run(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        _send_each(handle_event_task, model=Delivery, key="delivery_id", ids=[delivery_id], countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def run_command_task(command_id: int) -> str:
    outcome = commands.command_run(command_id=command_id)
    if outcome.retry_in is not None:
        _send_each(run_command_task, model=Command, key="command_id", ids=[command_id], countdown=outcome.retry_in)
    return outcome.status


@shared_task
def redeliver_events_task(older_than_seconds: float | None = None) -> dict:
    """Beat: send again what was never sent, failed to send, or waits longer than the visibility timeout."""
    found = dispatcher.events_redeliver(older_than_seconds=older_than_seconds)
    _send_each(dispatch_event_task, model=OutboxEvent, key="event_id", ids=found.events)
    _send_each(handle_event_task, model=Delivery, key="delivery_id", ids=found.deliveries)
    _send_each(run_command_task, model=Command, key="command_id", ids=found.commands)
    counts = {"undispatched": len(found.events), "deliveries": len(found.deliveries), "commands": len(found.commands)}
    if any(counts.values()):
        log.info("re-delivered events", **counts)
    return counts
