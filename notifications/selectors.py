"""Read-only queries of the notifications app."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, Q, QuerySet

from notifications import links
from notifications.models import BackInStockRequest, Device, Feedback, Notification, SandboxMessage


def notifications_for_user(*, user) -> QuerySet[Notification]:
    """The customer's own message history (suppressed ones included: they explain a missing message)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_get_for_user(*, user, public_id) -> Notification | None:
    return notifications_for_user(user=user).filter(public_id=public_id).first()


def devices_for_user(*, user) -> QuerySet[Device]:
    return Device.objects.filter(user=user, is_active=True).order_by("-last_seen_at")


def sent_messages_list(*, channel: str | None = None, limit: int = 200) -> list[Notification]:
    """What went out (or was tried), newest first: the staff development outbox."""
    qs = Notification.objects.exclude(status=Notification.Status.SUPPRESSED).select_related("recipient")
    if channel:
        qs = qs.filter(channel=channel)
    return list(qs.order_by("-created_at", "-id")[:limit])


def sandbox_messages_list(*, limit: int = 200) -> list[SandboxMessage]:
    return list(SandboxMessage.objects.order_by("-created_at", "-id")[:limit])


def feedback_for_token(*, token: str) -> Feedback | None:
    try:
        order_number = links.feedback_token_read(token)
    except links.BadLink:
        return None
    return Feedback.objects.filter(order_number=order_number).first()


@dataclass(frozen=True)
class CsatSummary:
    responses: int
    satisfied: int  # ratings of 4 or 5
    average: float | None
    requested: int
    distribution: dict[int, int]

    @property
    def csat_percent(self) -> float | None:
        """CSAT: the share of responses rating 4 or 5."""
        return round(100 * self.satisfied / self.responses, 1) if self.responses else None

    @property
    def response_rate_percent(self) -> float | None:
        return round(100 * self.responses / self.requested, 1) if self.requested else None


def csat_summary(*, since=None) -> CsatSummary:
    qs = Feedback.objects.all()
    if since is not None:
        qs = qs.filter(submitted_at__gte=since)
    answered = qs.filter(rating__isnull=False)
    agg = answered.aggregate(n=Count("id"), happy=Count("id", filter=Q(rating__gte=4)), avg=Avg("rating"))
    distribution = dict.fromkeys(range(1, 6), 0)
    for row in answered.values("rating").annotate(n=Count("id")):
        distribution[row["rating"]] = row["n"]
    return CsatSummary(
        responses=agg["n"],
        satisfied=agg["happy"],
        average=round(agg["avg"], 2) if agg["avg"] is not None else None,
        requested=qs.filter(requested_at__isnull=False).count(),
        distribution=distribution,
    )


def back_in_stock_requests_for_user(*, user) -> QuerySet[BackInStockRequest]:
    """The customer's own back-in-stock requests, newest first."""
    return BackInStockRequest.objects.filter(user=user).order_by("-requested_at", "-id")


def back_in_stock_queue(*, sku: str) -> list[BackInStockRequest]:
    """Confirmed requests still waiting for ``sku``, in the order they will be told."""
    return list(
        BackInStockRequest.objects.filter(sku=sku, confirmed_at__isnull=False, notified_at__isnull=True).order_by(
            "requested_at", "id"
        )
    )


def back_in_stock_request_get(*, request_id: int) -> BackInStockRequest | None:
    return BackInStockRequest.objects.filter(pk=request_id).first()


# --- Reports ---------------------------------------------------------------------------------


def csat_by_period(*, date_range, period: str) -> list[dict]:
    """CSAT per day, week or month of the answers given in the range: ``period`` (first day), ``responses``,
    ``satisfied`` (4 or 5), ``csat_percent`` and ``average`` rating; oldest first. One query."""
    from flowmart.reporting import period_start

    rows = (
        Feedback.objects.filter(rating__isnull=False, **date_range.lookup("submitted_at"))
        .annotate(period=period_start("submitted_at", period))
        .values("period")
        .annotate(responses=Count("id"), satisfied=Count("id", filter=Q(rating__gte=4)), average=Avg("rating"))
        .order_by("period")
    )
    return [
        {
            "period": r["period"],
            "responses": r["responses"],
            "satisfied": r["satisfied"],
            "csat_percent": round(100 * r["satisfied"] / r["responses"], 1),
            "average": round(r["average"], 2),
        }
        for r in rows
    ]


def feedback_comments(*, date_range, limit: int = 20) -> list[dict]:
    """The latest answers in the range that came with a comment: order number, rating, comment, when."""
    return list(
        Feedback.objects.filter(rating__isnull=False, **date_range.lookup("submitted_at"))
        .exclude(comment="")
        .values("order_number", "rating", "comment", "submitted_at")
        .order_by("-submitted_at", "order_number")[:limit]
    )
