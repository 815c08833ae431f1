"""The Celery worker's heartbeat: proof that some worker is consuming this deployment's queue.

A consumer bootstep records the time in the cache every ``WORKER_HEARTBEAT_SECONDS`` while the
worker's connection to the broker is up (Celery stops consumer steps when it loses the broker and
starts them again when it reconnects). ``/readyz`` answers 503 naming ``worker`` and ``/metrics``
exports the heartbeat's age, so a dead or wedged worker is noticed within
``WORKER_HEARTBEAT_STALE_SECONDS`` (docs/operations.md §Worker).
"""

from __future__ import annotations

import time

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache


def _key() -> str:
    # One key per queue: every worker of this deployment refreshes it; colleagues' stacks use other queues.
    return f"worker-heartbeat:{settings.CELERY_TASK_DEFAULT_QUEUE}"


def heartbeat_record(*, hostname: str) -> None:
    cache.set(_key(), {"at": time.time(), "hostname": hostname}, timeout=settings.WORKER_HEARTBEAT_STALE_SECONDS * 10)


def heartbeat_age() -> float | None:
    """Seconds since the last heartbeat of any worker, None if none is known."""
    beat = cache.get(_key())
    return None if beat is None else max(time.time() - beat["at"], 0.0)


def heartbeat_problem() -> str | None:
    """Why the worker counts as missing, or None if it heartbeats."""
    age = heartbeat_age()
    if age is None:
        return "no worker heartbeat"
    if age > settings.WORKER_HEARTBEAT_STALE_SECONDS:
        return f"last worker heartbeat {age:.0f}s ago"
    return None


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Consumer step: beats at once, then every ``WORKER_HEARTBEAT_SECONDS``, while connected."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, consumer) -> None:
        self._beat(consumer.hostname)
        self.tref = consumer.timer.call_repeatedly(settings.WORKER_HEARTBEAT_SECONDS, self._beat, (consumer.hostname,))

    def stop(self, consumer) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop

    @staticmethod
    def _beat(hostname: str) -> None:
        heartbeat_record(hostname=hostname)
