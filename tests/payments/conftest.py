from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.staff_roles import staff_roles_ensure
from tests.users.factories import UserFactory


@pytest.fixture(autouse=True)
def _sandbox_gateway(settings):
    settings.PAYMENTS_GATEWAY = "sandbox"
    settings.PAYMENTS_GATEWAY_BACKOFF_SECONDS = 0
    settings.REFUND_APPROVAL_THRESHOLD_MINOR = 50000


@pytest.fixture
def finance_group(db) -> Group:
    # Made by the data migration; made again here when a transactional test flushed the tables.
    staff_roles_ensure()
    return Group.objects.get(name="Finance")


@pytest.fixture
def finance_user(finance_group):
    user = UserFactory(email="finance@example.com", is_staff=True)
    user.groups.add(finance_group)
    return user
