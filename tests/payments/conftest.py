from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from tests.users.factories import UserFactory


@pytest.fixture(autouse=True)
def _sandbox_gateway(settings):
    settings.PAYMENTS_GATEWAY = "sandbox"
    settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS = 0
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = 50000


@pytest.fixture
def finance_group(db) -> Group:
    # Created by the data migration; get_or_create because transactional tests flush the tables.
    group, _ = Group.objects.get_or_create(name="Finance")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="payments",
            codename__in=["view_payment", "view_refund", "view_pendingrefund", "change_pendingrefund", "view_dispute"],
        )
    )
    return group


@pytest.fixture
def finance_user(finance_group):
    user = UserFactory(email="finance@example.com", is_staff=True)
    user.groups.add(finance_group)
    return user
