"""``/healthz``: the process answers. ``/readyz``: it can reach what it needs."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from flowmart.celery import app


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    # A ping, not a write and read: the cache answers misses while Redis is away (outage_tolerant_cache).
    cache.ping()


def _check_broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
def readyz(request):
    checks = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}
    results, down = {}, []
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # each dependency reports its own failure
            results[name] = f"down: {exc.__class__.__name__}"
            down.append(name)
    body = {"status": "ok" if not down else "unavailable", "checks": results}
    if down:
        body["down"] = down
    if settings.DEBUG:
        body["env"] = settings.FLOWMART_ENV
    return JsonResponse(body, status=503 if down else 200)
