"""prometheus-client's multiprocess mode, on when ``PROMETHEUS_MULTIPROC_DIR`` is set (see flowmart/metrics.py).

Apart from ``flowmart.metrics`` so the worker's process hooks (``flowmart/celery.py``) and ``gunicorn.conf.py``
reach it without importing the events app.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess


def enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry():
    """Every process's metrics added up when they share ``PROMETHEUS_MULTIPROC_DIR``; else this process's."""
    if not enabled():
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def process_exited(pid: int) -> None:
    """Forget a dead process's live gauges (its counters stay in the totals)."""
    if enabled():
        multiprocess.mark_process_dead(pid)
