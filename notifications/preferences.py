"""Who wants to hear what, on which channel: the rules behind the preference centre.

Customers choose per category (order updates, shipping updates, billing,
marketing, back-in-stock alerts, new arrivals) and per channel. Marketing and new
arrivals are opt-in; essentials (order
confirmation, payment failure) always go out by email; account and staff
messages are not a preference.
"""

from __future__ import annotations

from notifications.kinds import Category, Channel, Kind
from notifications.models import EmailOptOut, Preference

CUSTOMER_CATEGORIES: tuple[str, ...] = (
    Category.ORDER_UPDATES,
    Category.SHIPPING_UPDATES,
    Category.BILLING,
    Category.MARKETING,
    Category.BACK_IN_STOCK,
    Category.NEW_ARRIVALS,
)
CHANNELS: tuple[str, ...] = (Channel.EMAIL, Channel.SMS, Channel.PUSH)

# What a customer gets before touching the preference centre.
DEFAULTS: dict[str, dict[str, bool]] = {
    Category.ORDER_UPDATES: {Channel.EMAIL: True, Channel.SMS: False, Channel.PUSH: True},
    Category.SHIPPING_UPDATES: {Channel.EMAIL: True, Channel.SMS: True, Channel.PUSH: True},
    Category.BILLING: {Channel.EMAIL: True, Channel.SMS: False, Channel.PUSH: True},
    Category.MARKETING: {Channel.EMAIL: False, Channel.SMS: False, Channel.PUSH: False},
    # The customer asked for the alert, so it is on; the channel order below picks one of these.
    Category.BACK_IN_STOCK: {Channel.EMAIL: True, Channel.SMS: False, Channel.PUSH: True},
    # Members' early access: opt-in, like marketing.
    Category.NEW_ARRIVALS: {Channel.EMAIL: False, Channel.SMS: False, Channel.PUSH: False},
}


def preference_matrix(*, user) -> dict[str, dict[str, bool]]:
    """{category: {channel: enabled}} for the customer categories, defaults filled in."""
    matrix = {category: {str(ch): on for ch, on in channels.items()} for category, channels in DEFAULTS.items()}
    if user is not None:
        for pref in Preference.objects.filter(user=user, category__in=CUSTOMER_CATEGORIES):
            matrix[pref.category][pref.channel] = pref.enabled
    return {str(category): channels for category, channels in matrix.items()}


def is_wanted(*, kind: Kind, channel: str, user, email: str = "") -> bool:
    """May ``kind`` go to this recipient on ``channel``?"""
    if kind.essential and channel == Channel.EMAIL:
        return True
    if kind.category in (Category.ACCOUNT, Category.STAFF_ALERTS):
        # Not in the preference centre, but an unsubscribe link still stops them.
        if user is None:
            return not EmailOptOut.objects.filter(email__iexact=email, category=kind.category).exists()
        return not Preference.objects.filter(user=user, category=kind.category, channel=channel, enabled=False).exists()
    if user is None:
        # A guest: only email, unless they unsubscribed that category through a link.
        if channel != Channel.EMAIL:
            return False
        return not EmailOptOut.objects.filter(email__iexact=email, category=kind.category).exists()
    return preference_matrix(user=user)[kind.category][channel]
