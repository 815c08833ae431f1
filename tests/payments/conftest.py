from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.users.factories import UserFactory


@pytest.fixture(autouse=True)
def _sandbox_gateway(settings):
    settings.PAYMENTS_GATEWAY = "sandbox"
    settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS = 0
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = 50000


@pytest.fixture
def finance_user(db):
    user = UserFactory(email="finance@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance"))
    return user
