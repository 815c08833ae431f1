"""Prometheus metrics at ``/metrics``: request counts and latency, event-spine health and lag, worker heartbeat.

With ``PROMETHEUS_MULTIPROC_DIR`` set (a directory shared by the web server's processes and the Celery worker's,
emptied when the stack starts; ``make run`` does it), prometheus-client's multiprocess mode adds up every
process's counters and histograms, so a scrape shows the deployment's totals, the worker's checkout and event
metrics included, instead of one random web process's. ``gunicorn.conf.py`` and the worker
(``flowmart/celery.py``) tell it when a process exits.

Protected by ``METRICS_TOKEN`` (``Authorization: Bearer <token>``) when set;
without a token it is served only outside production.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.utils.crypto import constant_time_compare
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from flowmart import metrics_multiprocess
from flowmart.events.models import Delivery, OutboxEvent
from flowmart.events.selectors import outbox_lag
from flowmart.worker_heartbeat import heartbeat_age

REQUESTS = Counter("flowmart_http_requests_total", "HTTP requests", ["method", "status"])
LATENCY = Histogram(
    "flowmart_http_request_seconds",
    "HTTP request latency",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# Gauges set at scrape time from the database: in multiprocess mode the scraping process's latest value counts.
SCRAPED = {"multiprocess_mode": "livemostrecent"}
EVENT_DELIVERIES = Gauge("flowmart_event_deliveries", "Event deliveries by status", ["status"], **SCRAPED)
OUTBOX_UNDISPATCHED = Gauge("flowmart_outbox_undispatched", "Outbox events not yet dispatched", **SCRAPED)
OUTBOX_LAG = Gauge(
    "flowmart_outbox_oldest_undelivered_age_seconds",
    "Age of the oldest event not yet dispatched or with a delivery still to run (0 when none waits)",
    **SCRAPED,
)
DELIVERIES_PENDING = Gauge("flowmart_event_deliveries_pending", "Deliveries pending or waiting for a retry", **SCRAPED)
WORKER_HEARTBEAT_AGE = Gauge(
    "flowmart_worker_heartbeat_age_seconds", "Seconds since a Celery worker last heartbeated (+Inf: never)", **SCRAPED
)


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        LATENCY.labels(request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response


def _refresh_event_gauges() -> None:
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    for status in Delivery.Status.values:
        EVENT_DELIVERIES.labels(status).set(counts.get(status, 0))
    OUTBOX_UNDISPATCHED.set(OutboxEvent.objects.filter(dispatched_at__isnull=True).count())
    lag = outbox_lag()
    OUTBOX_LAG.set(lag.oldest_undelivered_age_seconds)
    DELIVERIES_PENDING.set(lag.deliveries_pending)
    age = heartbeat_age()
    WORKER_HEARTBEAT_AGE.set(float("inf") if age is None else age)


def metrics_view(request):
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not constant_time_compare(supplied, token):
            raise Http404
    elif settings.PRODUCTION:
        raise Http404
    _refresh_event_gauges()
    return HttpResponse(generate_latest(metrics_multiprocess.registry()), content_type=CONTENT_TYPE_LATEST)
