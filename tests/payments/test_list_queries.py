"""A customer's payment list costs the same number of queries whatever its length."""

from __future__ import annotations

import pytest

from tests.payments.factories import captured_payment

pytestmark = pytest.mark.django_db


def test_payment_list_does_not_grow_with_payments(customer, customer_client, count_queries):
    owner = str(customer.public_id)
    captured_payment(customer_user_id=owner)
    one = count_queries(lambda: customer_client.get("/api/v1/payments/"))

    for _ in range(4):
        captured_payment(customer_user_id=owner)
    body = customer_client.get("/api/v1/payments/").json()
    assert body["count"] == 5
    assert count_queries(lambda: customer_client.get("/api/v1/payments/")) == one
