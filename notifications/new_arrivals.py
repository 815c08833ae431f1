"""Members' early access: tell members who opted in to new arrivals that one opened to them.

Paying members with early access (``subscriptions.selectors.early_access_member_user_ids``) who
switched on *new arrivals* for a channel (opt-in, off by default) get one message per channel they
chose. Others get nothing, not even a suppressed row: with opt-in defaults that would be one row
per member per launch.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from notifications.kinds import Category
from notifications.models import Notification, Preference
from notifications.services import Recipient, notifications_create
from subscriptions import selectors as subscription_selectors


def new_arrival_announce(*, event) -> list[Notification]:
    """Runs in the handler's transaction; a redelivered event finds its messages (dedupe by event id)."""
    members = subscription_selectors.early_access_member_user_ids()
    chosen: dict[int, list[str]] = {}
    for user_id, channel in (
        Preference.objects.filter(category=Category.NEW_ARRIVALS, enabled=True, user_id__in=members)
        .order_by("user_id", "channel")
        .values_list("user_id", "channel")
    ):
        chosen.setdefault(user_id, []).append(channel)
    if not chosen:
        return []
    context = {
        "product_name": event.product_name,
        "product_url": f"{settings.SITE_URL}/products/{event.product_slug}/",
        "early_access_at": event.early_access_at,
        "on_sale_at": event.on_sale_at,
        "price_min_minor": event.price_min_minor,
        "currency": event.currency,
    }
    created: list[Notification] = []
    users = get_user_model().objects.filter(pk__in=chosen, is_active=True).order_by("pk")
    with transaction.atomic():
        for user in users:
            recipient = Recipient(user=user, email=user.email, phone=user.phone, name=user.full_name or user.email)
            created += notifications_create(
                kind="new_arrival",
                recipient=recipient,
                context=context,
                dedupe=str(event.event_id),
                correlation_id=event.correlation_id,
                event_id=event.event_id,
                channels=tuple(chosen[user.pk]),
            )
    return created
