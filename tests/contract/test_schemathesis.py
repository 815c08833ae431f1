"""Contract tests: Schemathesis generates requests from the live OpenAPI schema and checks every answer.

Checks: no 5xx (``not_a_server_error``), no status code the operation does not document
(``status_code_conformance``), every body matches its documented schema (``response_schema_conformance``).
Bounded and deterministic so it fits the test run: positive examples only, ``MAX_EXAMPLES`` per operation,
derandomized. Requests go through Django's WSGI app in-process, signed in as a customer (bearer token from
allauth's app login). Webhooks are left out: they need the gateway's or carrier's signature, which generated
bodies cannot carry; their contract is tested by their own tests.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from flowmart.users.demo import DEMO_PASSWORD
from flowmart.wsgi import application
from tests.orders.conftest import shop  # noqa: F401 - a catalog with stock, so baskets and checkouts get far

MAX_EXAMPLES = 3
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

api_schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).exclude(path_regex="/webhooks/")
api_schema.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=MAX_EXAMPLES, deterministic=True)


@pytest.fixture
def customer_token(customer, shop) -> str:  # noqa: F811
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": customer.email, "password": DEMO_PASSWORD},
        content_type="application/json",
    )
    return response.json()["meta"]["access_token"]


@pytest.fixture
def wsgi_requests(customer_token):
    """Django's WSGI handler closes "old" connections at each request, which would close the test's own (and
    its transaction); detached as Django's test client does, after the login (whose client reattaches it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {customer_token}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@api_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, wsgi_requests):
    case.call_and_validate(headers=wsgi_requests, checks=CHECKS)
