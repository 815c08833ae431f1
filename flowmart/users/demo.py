"""The well-known demo logins: a superuser, a customer, and one staff member per role (docs/staff.md). Only
``setup_demo`` (and tests) call this."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.db import transaction

from flowmart.users.models import Address, User

DEMO_PASSWORD = "flowmart"  # noqa: S105 - documented demo login, refused in production
DEMO_STAFF_EMAIL = "admin@flowmart.test"
DEMO_CUSTOMER_EMAIL = "customer@flowmart.test"
# One non-superuser per role, to see the shop as each role sees it (groups made by flowmart/staff's migration).
DEMO_ROLE_ACCOUNTS = (
    ("support@flowmart.test", "Sam Support", "Support"),
    ("warehouse@flowmart.test", "Wes Warehouse", "Warehouse"),
    ("finance@flowmart.test", "Fran Finance", "Finance"),
    ("manager@flowmart.test", "Morgan Manager", "Manager"),
)


def demo_accounts_ensure() -> list[tuple[str, bool]]:
    results = []
    with transaction.atomic():
        for email, staff, name in (
            (DEMO_STAFF_EMAIL, True, "Avery Admin"),
            (DEMO_CUSTOMER_EMAIL, False, "Casey Customer"),
        ):
            user, created = User.objects.get_or_create(
                email=email, defaults={"is_staff": staff, "is_superuser": staff, "full_name": name}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            if not staff and not user.addresses.exists():
                Address.objects.create(
                    user=user,
                    name=name,
                    line1="1 Market Street",
                    city="San Francisco",
                    region="CA",
                    postal_code="94105",
                    country="US",
                    is_default=True,
                )
            results.append((email, created))
        for email, name, role in DEMO_ROLE_ACCOUNTS:
            user, created = User.objects.get_or_create(email=email, defaults={"is_staff": True, "full_name": name})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            group = Group.objects.filter(name=role).first()
            if group is not None:
                user.groups.add(group)
            results.append((email, created))
    return results
