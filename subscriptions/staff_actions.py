"""What staff may do to a membership (docs/staff.md §Staff actions): pause, resume, cancel, expire."""

from __future__ import annotations

from flowmart.staff.actions import StaffAction, staff_action_declare
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionStatus

LIVE = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)
CANCELLABLE = (*LIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.PAUSED)
AUDIT_FIELDS = ("status", "cancel_at_period_end", "current_period_end")


def _subscription(**kwargs) -> StaffAction:
    return staff_action_declare(
        StaffAction(
            model=Subscription,
            permission="subscriptions.manage_subscription",
            audit_fields=AUDIT_FIELDS,
            **{"default_reason": "staff", **kwargs},
        )
    )


PAUSE = _subscription(
    name="subscriptions.subscription.pause",
    label="Pause",
    offered=lambda s: s.status == SubscriptionStatus.ACTIVE and not s.cancel_at_period_end,
    run=lambda s, *, by, reason, data: services.subscription_pause(subscription=s, by=by, reason=reason),
)
RESUME = _subscription(
    name="subscriptions.subscription.resume",
    label="Resume",
    offered=lambda s: s.status == SubscriptionStatus.PAUSED,
    run=lambda s, *, by, reason, data: services.subscription_resume(subscription=s, by=by),
)
CANCEL_AT_PERIOD_END = _subscription(
    name="subscriptions.subscription.cancel_at_period_end",
    label="Cancel at period end",
    offered=lambda s: s.status in LIVE and not s.cancel_at_period_end,
    run=lambda s, *, by, reason, data: services.subscription_cancel(
        subscription=s, at_period_end=True, by=by, reason=reason
    ),
)
CANCEL = _subscription(
    name="subscriptions.subscription.cancel",
    label="Cancel now",
    offered=lambda s: s.status in CANCELLABLE,
    run=lambda s, *, by, reason, data: services.subscription_cancel(subscription=s, by=by, reason=reason),
)
EXPIRE = _subscription(
    name="subscriptions.subscription.expire",
    label="Expire",
    offered=lambda s: s.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.INCOMPLETE),
    default_reason="expired by staff",
    run=lambda s, *, by, reason, data: services.subscription_expire(subscription=s, by=by, detail=reason),
)
