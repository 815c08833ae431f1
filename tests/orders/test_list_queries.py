"""A customer's order list costs the same number of queries for 1 order as for 4."""

from __future__ import annotations

import pytest

from flowmart.events.testing import deliver_pending

pytestmark = pytest.mark.django_db


def place_order(client, checkout_body):
    assert client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json").status_code == 201
    assert client.post("/api/v1/checkout/", checkout_body(), format="json").status_code == 201
    deliver_pending()


def test_order_list_api_and_page_do_not_grow_with_orders(
    customer, customer_client, client, shop, checkout_body, count_queries
):
    client.force_login(customer)
    place_order(customer_client, checkout_body)
    api_one = count_queries(lambda: customer_client.get("/api/v1/orders/"))
    page_one = count_queries(lambda: client.get("/orders/"))

    for _ in range(3):
        place_order(customer_client, checkout_body)
    response = customer_client.get("/api/v1/orders/")
    assert response.json()["count"] == 4

    assert count_queries(lambda: customer_client.get("/api/v1/orders/")) == api_one
    assert count_queries(lambda: client.get("/orders/")) == page_one
