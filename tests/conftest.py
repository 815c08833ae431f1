"""Fixtures shared by every app's tests: real PostgreSQL, real Redis, a real Celery worker."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from flowmart.users.demo import DEMO_PASSWORD
from tests.polling import wait_for
from tests.users.factories import UserFactory


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty cache, throttle counters and broker queue."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    yield


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def password() -> str:
    return DEMO_PASSWORD


@pytest.fixture
def customer(db):
    return UserFactory(email="casey@example.com", full_name="Casey Customer")


@pytest.fixture
def other_customer(db):
    return UserFactory(email="other@example.com", full_name="Olive Other")


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_member(db) -> Callable:
    """``staff_member("Support")``: a staff login (not a superuser) holding one role, as the data migration made
    it (docs/staff.md §Roles)."""
    from django.contrib.auth.models import Group

    from tests.staff_roles import staff_roles_ensure

    def make(role: str, email: str | None = None):
        staff_roles_ensure()
        user = UserFactory(email=email or f"{role.lower()}@staff.example.com", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def customer_client(customer) -> APIClient:
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker consuming the real broker, in threads of this process."""
    from celery.contrib.testing.worker import start_worker

    from flowmart.celery import app

    app.control.purge()
    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=15,
    ) as worker:
        yield worker
        # Let running tasks finish before the worker stops and the test's tables are flushed:
        # a task still inside a transaction would block (or deadlock) the flush.
        from celery.worker import state

        deadline = time.monotonic() + 15
        while (state.active_requests or state.reserved_requests) and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def count_queries() -> Callable:
    """``count_queries(lambda: client.get(url))``: SQL queries one successful request costs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def _count(request: Callable) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = request()
        assert response.status_code == 200
        return len(ctx.captured_queries)

    return _count


@pytest.fixture
def wait_until() -> Callable:
    """Poll a condition that an asynchronous worker will make true; fail with a message on timeout."""

    def _wait(condition: Callable[[], object], *, timeout: float = 20.0, message: str = "condition") -> object:
        return wait_for(condition, timeout=timeout, what=message)

    return _wait
