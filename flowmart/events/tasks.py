from __future__ import annotations

import structlog
from celery import shared_task

from flowmart.events import dispatcher

log = structlog.get_logger(__name__)


@shared_task(acks_late=True)
def dispatch_event_task(event_id: str) -> None:
    for delivery_id in dispatcher.event_dispatch(event_id=event_id):
        handle_event_task.apply_async(kwargs={"delivery_id": delivery_id})


@shared_task(acks_late=True)
def handle_event_task(delivery_id: int) -> str:
    outcome = dispatcher.delivery_run(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        handle_event_task.apply_async(kwargs={"delivery_id": delivery_id}, countdown=outcome.retry_in)
    return outcome.status


@shared_task
def redeliver_events_task(older_than_seconds: float | None = None) -> dict:
    undispatched, stuck = dispatcher.events_redeliver(older_than_seconds=older_than_seconds)
    for event_id in undispatched:
        dispatch_event_task.apply_async(kwargs={"event_id": str(event_id)})
    for delivery_id in stuck:
        handle_event_task.apply_async(kwargs={"delivery_id": delivery_id})
    if undispatched or stuck:
        log.info("re-delivered events", undispatched=len(undispatched), deliveries=len(stuck))
    return {"undispatched": len(undispatched), "deliveries": len(stuck)}
