"""Fixtures shared by every app's tests: real PostgreSQL, real Redis, a real Celery worker."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

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


# -- query-count baselines ----------------------------------------------------------------------------------
QUERY_BASELINES = Path(__file__).parent / "query_baselines.json"


@pytest.fixture(scope="session")
def _query_baselines():
    baselines = json.loads(QUERY_BASELINES.read_text()) if QUERY_BASELINES.exists() else {}
    yield baselines
    if os.environ.get("QUERY_BASELINES_UPDATE"):
        QUERY_BASELINES.write_text(json.dumps(dict(sorted(baselines.items())), indent=2) + "\n")


@pytest.fixture
def query_baseline(_query_baselines) -> Callable:
    """``query_baseline("checkout place (API)", lambda: client.post(...))``: the SQL statements one request costs
    must equal its baseline in tests/query_baselines.json (the way Saleor keeps them): a change that adds
    queries fails here, and one that saves some updates the file (``QUERY_BASELINES_UPDATE=1``), so the file
    always shows what each endpoint costs today. Returns the response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def _check(name: str, request: Callable):
        with CaptureQueriesContext(connection) as ctx:
            response = request()
        # A session read is answered by the Redis session cache, or by the table when the outage-tolerant cache
        # gave up on a slow Redis: not the endpoint's cost, and not deterministic on a loaded machine.
        queries = [q for q in ctx.captured_queries if not q["sql"].startswith('SELECT "django_session"')]
        count = len(queries)
        if os.environ.get("QUERY_BASELINES_UPDATE"):
            _query_baselines[name] = count
            return response
        expected = _query_baselines.get(name)
        listing = "\n".join(q["sql"][:160] for q in queries)
        assert expected is not None, f"no baseline for {name!r}: run with QUERY_BASELINES_UPDATE=1"
        assert count == expected, (
            f"{name!r} costs {count} SQL statements, its baseline is {expected} "
            f"(fewer: QUERY_BASELINES_UPDATE=1 records it; more: find the new query):\n{listing}"
        )
        return response

    return _check
