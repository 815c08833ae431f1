"""``/healthz``: the process answers. ``/readyz``: it can reach what it needs, and a worker is consuming.

``/readyz`` answers 503 naming what is down: ``database``, ``redis``, ``broker``, or ``worker`` when no
Celery worker has heartbeated for ``WORKER_HEARTBEAT_STALE_SECONDS`` (flowmart/worker_heartbeat.py).
It also reports the outbox lag (oldest undelivered event, deliveries pending), which does not make
the shop unready by itself: ``/metrics`` exports it for alerting.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from flowmart.celery import app
from flowmart.events.selectors import outbox_lag
from flowmart.worker_heartbeat import heartbeat_problem


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


class WorkerMissing(RuntimeError):
    pass


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    # A ping, not a write and read: the cache answers misses while Redis is away (outage_tolerant_cache).
    cache.ping()


def _check_broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_worker() -> None:
    problem = heartbeat_problem()
    if problem:
        raise WorkerMissing(problem)


@never_cache
def readyz(request):
    checks = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}
    if settings.READYZ_REQUIRES_WORKER:
        checks["worker"] = _check_worker
    results, down = {}, []
    for name, check in checks.items():
        if name == "worker" and "redis" in down:
            results[name] = "unknown: its heartbeat lives in Redis"
            continue
        try:
            check()
            results[name] = "ok"
        except WorkerMissing as exc:
            results[name] = f"down: {exc}"
            down.append(name)
        except Exception as exc:  # each dependency reports its own failure
            results[name] = f"down: {exc.__class__.__name__}"
            down.append(name)
    body = {"status": "ok" if not down else "unavailable", "checks": results}
    if down:
        body["down"] = down
    if "database" not in down:
        lag = outbox_lag()
        body["outbox"] = {
            "oldest_undelivered_age_seconds": round(lag.oldest_undelivered_age_seconds, 1),
            "deliveries_pending": lag.deliveries_pending,
            "events_undispatched": lag.events_undispatched,
        }
    if settings.DEBUG:
        body["env"] = settings.FLOWMART_ENV
    return JsonResponse(body, status=503 if down else 200)
