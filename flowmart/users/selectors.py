from __future__ import annotations

from django.db.models import QuerySet

from flowmart.users.exports import customers_export  # noqa: F401 (re-exported: manage.py export)
from flowmart.users.models import Address, User


def user_get_by_public_id(*, public_id) -> User | None:
    return User.objects.filter(public_id=public_id).first()


def addresses_for_user(*, user) -> QuerySet[Address]:
    """The customer's saved addresses, the default one first, then the newest."""
    return user.addresses.order_by("-is_default", "-created_at")


def staff_emails_in_groups(*, groups: list[str]) -> list[str]:
    """The addresses of active staff in any of the named groups (each once, sorted)."""
    return list(
        User.objects.filter(is_active=True, is_staff=True, groups__name__in=groups)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
        .order_by("email")
    )
