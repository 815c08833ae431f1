"""The two well-known demo logins. Only ``setup_demo`` (and tests) call this."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction

from flowmart.users.models import Address, User

DEMO_PASSWORD = "flowmart"  # noqa: S105 - documented demo login, refused in production
DEMO_STAFF_EMAIL = "admin@flowmart.test"
DEMO_CUSTOMER_EMAIL = "customer@flowmart.test"


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
    return results
