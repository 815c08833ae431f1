from __future__ import annotations

from django.db.models import QuerySet

from flowmart.users.models import Address, User


def user_get_by_public_id(*, public_id) -> User | None:
    return User.objects.filter(public_id=public_id).first()


def addresses_for_user(*, user) -> QuerySet[Address]:
    """The customer's saved addresses, the default one first, then the newest."""
    return user.addresses.order_by("-is_default", "-created_at")
