"""Prometheus metrics of the checkout saga (served by the kernel's ``/metrics`` from the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SAGA_STEPS = Counter("flowmart_orders_saga_steps_total", "Saga step attempts by outcome", ["step", "status"])
SAGA_STEP_SECONDS = Histogram(
    "flowmart_orders_saga_step_seconds",
    "Duration of saga steps (calls into inventory / payments included)",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CHECKOUTS = Counter("flowmart_orders_checkouts_total", "Checkouts by outcome", ["outcome"])
