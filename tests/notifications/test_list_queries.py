"""A customer's message history costs the same number of queries whatever its length."""

from __future__ import annotations

import pytest

from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def test_history_api_and_page_do_not_grow_with_messages(customer, customer_client, client, count_queries):
    client.force_login(customer)
    NotificationFactory.create_batch(2, recipient=customer)
    api_two = count_queries(lambda: customer_client.get("/api/v1/notifications/"))
    page_two = count_queries(lambda: client.get("/notifications/"))

    NotificationFactory.create_batch(10, recipient=customer)
    assert customer_client.get("/api/v1/notifications/").json()["count"] == 12
    assert count_queries(lambda: customer_client.get("/api/v1/notifications/")) == api_two
    assert count_queries(lambda: client.get("/notifications/")) == page_two
