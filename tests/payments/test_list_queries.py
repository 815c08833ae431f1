"""A customer's payment list costs the same number of queries whatever its length."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.payments.factories import captured_payment

pytestmark = pytest.mark.django_db


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_payment_list_does_not_grow_with_payments(customer, customer_client):
    owner = str(customer.public_id)
    captured_payment(customer_user_id=owner)
    one = queries(lambda: customer_client.get("/api/v1/payments/"))

    for _ in range(4):
        captured_payment(customer_user_id=owner)
    body = customer_client.get("/api/v1/payments/").json()
    assert body["count"] == 5
    assert queries(lambda: customer_client.get("/api/v1/payments/")) == one
