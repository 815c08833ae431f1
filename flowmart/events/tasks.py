from __future__ import annotations

import structlog
from celery import Task, shared_task

from flowmart.events import commands, dispatcher
from flowmart.events.models import Command, Delivery, OutboxEvent
from flowmart.events.publisher import not_queued, relay_request, relay_started

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


# How many outbox rows one relay claims per round, and how many rounds it runs before it returns
# (a burst is drained by the relays already running, not by one task per event).
RELAY_BATCH = 100
RELAY_ROUNDS = 20


@shared_task(acks_late=True)
def relay_events_task() -> int:
    """Sent once per transaction that published events: claim undispatched outbox rows in batches and run
    their handlers here, in this process. A retry (or the sweep) still goes through ``handle_event_task``."""
    relay_started()
    ran = 0
    for _ in range(RELAY_ROUNDS):
        ids = dispatcher.events_claim(limit=RELAY_BATCH)
        if not ids:
            return ran
        _run_here(ids)
        ran += len(ids)
    relay_request()  # rounds used up, rows may be left: the transactions that published them relied on a relay
    return ran


@shared_task(acks_late=True)
def dispatch_event_task(event_id: str) -> None:
    """The sweep's way in for one outbox row left undispatched: create its deliveries and run them here."""
    _run_here(dispatcher.event_dispatch(event_id=event_id))


def _run_here(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        outcome = dispatcher.delivery_run(delivery_id=delivery_id)
        if outcome.retry_in is not None:
            _send_each(
                handle_event_task, model=Delivery, key="delivery_id", ids=[delivery_id], countdown=outcome.retry_in
            )


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
