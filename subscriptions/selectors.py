"""Read-only queries of the subscriptions app."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from flowmart.events.selectors import timeline_for_correlation
from subscriptions.exports import invoices_export  # noqa: F401 (re-exported: manage.py export)
from subscriptions.models import (
    LIVE_STATUSES,
    PERK_STATUSES,
    Invoice,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from subscriptions.timeline_text import describe


@dataclass(frozen=True)
class MemberPerks:
    """What a customer's membership gives at checkout (contract: docs/contracts.md)."""

    tier_name: str | None = None
    free_shipping: bool = False
    percent_off: int = 0
    early_access: bool = False

    @property
    def is_member(self) -> bool:
        return self.tier_name is not None


NO_PERKS = MemberPerks()


def _user_filter(user_id) -> Q | None:
    """``user_id`` is ``User.public_id`` (UUID or its string); an int is taken as the primary key."""
    if user_id is None or user_id == "":
        return None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return Q(user_id=user_id)
    try:
        return Q(user__public_id=uuid.UUID(str(user_id)))
    except ValueError:
        return None


def member_perks_for_user(*, user_id) -> MemberPerks:
    """Perks of the customer's live membership: trialing, active, or past due (grace while dunning retries).

    Paused, cancelled and expired subscriptions give nothing; an unknown or
    anonymous user gets ``MemberPerks(None, False, 0, False)``.
    """
    who = _user_filter(user_id)
    if who is None:
        return NO_PERKS
    sub = (
        Subscription.objects.filter(who, status__in=PERK_STATUSES)
        .select_related("plan__tier")
        .only("plan__tier__name", "plan__tier__free_shipping", "plan__tier__percent_off", "plan__tier__early_access")
        .first()
    )
    if sub is None:
        return NO_PERKS
    tier = sub.plan.tier
    return MemberPerks(
        tier_name=tier.name,
        free_shipping=tier.free_shipping,
        percent_off=tier.percent_off,
        early_access=tier.early_access,
    )


def early_access_member_user_ids() -> list[int]:
    """Accounts whose live membership (trialing, active, past due) includes early access to new arrivals."""
    return list(
        Subscription.objects.filter(status__in=PERK_STATUSES, plan__tier__early_access=True, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def plan_list(*, active_only: bool = True) -> QuerySet[Plan]:
    """Plans in the order the plans page and the API offer them."""
    qs = Plan.objects.select_related("tier").order_by("sort_order", "price_minor", "code")
    return qs.filter(is_active=True) if active_only else qs


def plan_get(*, code: str, active_only: bool = True) -> Plan | None:
    return plan_list(active_only=active_only).filter(code=code).first()


def subscription_current_for_user(*, user) -> Subscription | None:
    """The customer's live subscription (at most one exists), else None."""
    if user is None or not user.is_authenticated:
        return None
    return Subscription.objects.filter(user=user, status__in=LIVE_STATUSES).select_related("plan__tier").first()


def subscription_list_for_user(*, user) -> QuerySet[Subscription]:
    return Subscription.objects.filter(user=user).select_related("plan__tier").order_by("-created_at")


def subscription_get_for_user(*, user, public_id) -> Subscription | None:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return subscription_list_for_user(user=user).filter(public_id=key).first()


def invoice_list_for_user(*, user) -> QuerySet[Invoice]:
    """Own invoices only; drafts are internal."""
    return (
        Invoice.objects.filter(user=user)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("subscription__plan")
        .prefetch_related("lines")
        .order_by("-issued_at", "-id")
    )


def invoice_get_for_user(*, user, number: str) -> Invoice | None:
    return invoice_list_for_user(user=user).filter(number=number).first()


def subscription_ids_due_for_billing(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Subscriptions the billing run must look at now, oldest due first.

    * trialing/active whose period has ended (renewal, end of trial, or a
      cancellation scheduled for the period end);
    * past_due whose open invoice's next dunning attempt is due.
    """
    now = now or timezone.now()
    renewals = (
        Subscription.objects.filter(
            status__in=[SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE], current_period_end__lte=now
        )
        .order_by("current_period_end", "id")
        .values_list("id", flat=True)
    )
    retries = (
        Invoice.objects.filter(
            status=InvoiceStatus.OPEN,
            next_payment_attempt_at__lte=now,
            subscription__status=SubscriptionStatus.PAST_DUE,
        )
        .order_by("next_payment_attempt_at", "id")
        .values_list("subscription_id", flat=True)
    )
    if limit:
        renewals, retries = renewals[:limit], retries[:limit]
    ids = list(dict.fromkeys([*renewals, *retries]))
    return ids[:limit] if limit else ids


def subscription_history(*, subscription) -> list[tuple]:
    """(when, sentence) for everything that happened to one membership, oldest first."""
    history = []
    for entry in timeline_for_correlation(correlation_id=f"sub:{subscription.public_id}"):
        text = describe(name=entry.name, payload=entry.payload)
        if text:
            history.append((entry.occurred_at, text))
    return history
