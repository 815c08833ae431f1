"""Demo data for ``make run``: the demo customer can be reached by SMS and push (both in the sandbox)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from notifications.models import Device

DEMO_CUSTOMER_EMAIL = "customer@flowmart.test"
DEMO_PHONE = "+15555550100"
DEMO_DEVICE_TOKEN = "sandbox-device-casey-phone"  # noqa: S105 - a sandbox push token, not a secret


def notifications_demo_ensure() -> list[str]:
    done: list[str] = []
    with transaction.atomic():
        user = get_user_model().objects.filter(email=DEMO_CUSTOMER_EMAIL).first()
        if user is None:
            return ["no demo customer: skipped"]
        if not user.phone:
            user.phone = DEMO_PHONE
            user.save(update_fields=["phone"])
            done.append(f"gave {user.email} the sandbox phone {DEMO_PHONE}")
        _, created = Device.objects.get_or_create(
            token=DEMO_DEVICE_TOKEN,
            defaults={"user": user, "platform": Device.Platform.IOS, "name": "Casey's phone (sandbox)"},
        )
        if created:
            done.append(f"registered a sandbox push device for {user.email}")
    return done or ["demo notification data already present"]
