"""Prometheus metrics of the payments app (served by the kernel's ``/metrics`` from the default registry)."""

from __future__ import annotations

from prometheus_client import Counter

STRAY_AUTHORIZATIONS = Counter(
    "flowmart_payments_stray_authorizations_total",
    "Authorizations the gateway held that no authorized payment explained, by what the sweep did",
    ["outcome"],
)
