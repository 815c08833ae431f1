"""Prometheus metrics of event delivery, counted where the handlers run (the worker; ``/metrics`` adds them up
with the web processes' in multiprocess mode, see flowmart/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES_RUN = Counter("flowmart_event_deliveries_run_total", "Handler attempts by outcome", ["status"])
HANDLED_LAG = Histogram(
    "flowmart_event_handled_lag_seconds",
    "From the event's commit to the outbox until its handler succeeded",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
