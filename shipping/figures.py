"""Shipping's figures for the owner's reports (``reports`` composes them): aggregate SQL, one query each.

**Delivery rate**: of the parcels dispatched in the range whose journey has ended (delivered or returned to
sender), the share delivered, and the share delivered at the first attempt (no failed attempt recorded).
Parcels still on their way are counted apart, not in the rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from flowmart.reporting import DateRange
from shipping.models import DeliveryFailure, ReturnRequest, Shipment


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class DeliveryRates:
    dispatched: int
    ended: int  # delivered or returned to sender
    delivered: int
    delivered_first_attempt: int
    returned_to_sender: int
    on_the_way: int

    @property
    def delivery_rate_percent(self) -> float | None:
        return _percent(self.delivered, self.ended)

    @property
    def first_attempt_rate_percent(self) -> float | None:
        return _percent(self.delivered_first_attempt, self.ended)


def delivery_rates(*, date_range: DateRange) -> DeliveryRates:
    S = Shipment.Status
    delivered = Q(status=S.DELIVERED)
    returned = Q(status=S.RETURNED_TO_SENDER)
    r = Shipment.objects.filter(kind=Shipment.Kind.ORDER, **date_range.lookup("dispatched_at")).aggregate(
        dispatched=Count("id"),
        delivered=Count("id", filter=delivered),
        first=Count("id", filter=delivered & Q(failed_attempts=0)),
        returned=Count("id", filter=returned),
        on_the_way=Count("id", filter=Q(status__in=[S.DISPATCHED, S.IN_TRANSIT, S.DELIVERY_FAILED])),
    )
    return DeliveryRates(
        dispatched=r["dispatched"],
        ended=r["delivered"] + r["returned"],
        delivered=r["delivered"],
        delivered_first_attempt=r["first"],
        returned_to_sender=r["returned"],
        on_the_way=r["on_the_way"],
    )


def delivery_failures_by_reason(*, date_range: DateRange) -> list[dict]:
    """Failed delivery attempts in the range per carrier reason, most frequent first: ``reason``, ``attempts``."""
    return list(
        DeliveryFailure.objects.filter(**date_range.lookup("failed_at"))
        .values("reason")
        .annotate(attempts=Count("id"))
        .order_by("-attempts", "reason")
    )


def returns_by_status(*, date_range: DateRange) -> dict[str, int]:
    """Return requests made in the range, per status now (every status present, 0 when none)."""
    counts = dict.fromkeys(ReturnRequest.Status.values, 0)
    for row in (
        ReturnRequest.objects.filter(**date_range.lookup("created_at"))
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["status"]] = row["n"]
    return counts
