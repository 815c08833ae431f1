"""Synchronous delivery for tests: runs the same dispatch and handler code as the worker.

Domain tests call ``deliver_pending()`` after their transaction committed to
see every reaction the events cause, without a worker and without waiting
for back-off. The event spine's own tests use a real Celery worker instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kombu import pools as kombu_pools

from flowmart.celery import app as celery_app
from flowmart.events import dispatcher
from flowmart.events.models import Delivery


def deliver_pending(*, max_rounds: int = 50) -> int:
    """Dispatch and run everything outstanding until nothing is left; returns deliveries run."""
    ran = 0
    for _ in range(max_rounds):
        while dispatcher.events_claim(limit=1000):  # the relay's claim; its deliveries run below, in id order
            pass
        due = list(
            Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING])
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not due:
            return ran
        for delivery_id in due:
            dispatcher.delivery_run(delivery_id=delivery_id)
            ran += 1
    raise RuntimeError(f"events kept coming after {max_rounds} rounds: a handler loop?")


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker (a Redis a fault test starts and stops, or a port
    nothing listens on), with fresh connection pools, and back again afterwards."""
    original = celery_app.conf.broker_url

    def reset_pools():
        kombu_pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    celery_app.conf.broker_url = url
    try:
        yield
    finally:
        reset_pools()
        celery_app.conf.broker_url = original


def deliver_and_run_commands(*, max_rounds: int = 20) -> None:
    """Everything the worker would do, in this process: deliver events (``deliver_pending``), then run every
    open command (a handler's follow-up: settle, return settlement, …) once, until nothing is left. A command
    that fails stays ``retrying`` and runs again next round (no back-off here), up to its attempt limit."""
    from flowmart.events.commands import command_run
    from flowmart.events.models import COMMANDS_OPEN, Command

    for _ in range(max_rounds):
        deliver_pending()
        open_ids = list(Command.objects.filter(status__in=COMMANDS_OPEN).order_by("id").values_list("id", flat=True))
        if not open_ids:
            return
        for command_id in open_ids:
            command_run(command_id=command_id)
    deliver_pending()
