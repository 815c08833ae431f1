"""Members who opted in to new arrivals hear when a product's members' early access opens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from notifications.models import Notification
from notifications.testing import send_queued_notifications
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.notifications.factories import DeviceFactory
from tests.subscriptions.factories import PlanFactory, SubscriptionFactory, TierFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def opt_in(user, **channels):
    from notifications.services import preferences_update

    preferences_update(user=user, matrix={"new_arrivals": channels})


def test_opted_in_members_hear_once_others_hear_nothing(customer, other_customer):
    SubscriptionFactory(user=customer)  # Plus: early access
    SubscriptionFactory(user=other_customer)  # a member who did not opt in
    no_early = UserFactory(email="basic@example.com")
    SubscriptionFactory(
        user=no_early, plan=PlanFactory(code="saver-monthly", tier=TierFactory(name="Saver", early_access=False))
    )
    not_member = UserFactory(email="nobody@example.com")
    opt_in(customer, email=True, push=True)
    opt_in(no_early, email=True)
    opt_in(not_member, email=True)
    DeviceFactory(user=customer)
    now = timezone.now()
    product = ProductFactory(
        name="Preview Hoodie", slug="preview-hoodie", early_access_at=now, on_sale_at=now + timedelta(days=7)
    )
    VariantFactory(product=product, sku="PH-M", price_minor=8900)

    inventory_services.early_access_announce_due()
    deliver_pending()
    inventory_services.early_access_announce_due()  # the next beat run
    deliver_pending()
    send_queued_notifications()

    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([customer.email], "Members first: Preview Hoodie is yours before everyone else")
    ]
    assert "from $89.00" in mail.outbox[0].body
    assert sorted(Notification.objects.values_list("recipient__email", "channel")) == [
        (customer.email, "email"),
        (customer.email, "push"),
    ]
