"""Issue 12 item 6: a dropped database connection is not a 500.

The test's own PostgreSQL backend is terminated (``pg_terminate_backend``, filtered by the test
database's name and our backend's pid) just before a chosen statement of a request runs. A request
that had written nothing yet is run again and answers normally; one that had written answers 503
with ``Retry-After`` (a problem document in the API, a friendly page in the storefront), and a
checkout caught that way is finished by the sweeper.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from orders import services as order_services
from orders.models import Basket, Order, OrderStatus
from payments import selectors as payment_selectors
from tests.faults import processes_uptime
from tests.faults.processes_uptime import ConnectionKill

fault_shop = processes_uptime.fault_shop
test_database_name = processes_uptime.test_database_name

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = {
    "name": "Robin Guest",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def _params_mention(params, word: str) -> bool:
    return word in (params or ())


def test_a_read_that_loses_its_connection_is_run_again_and_answers_normally(fault_shop, test_database_name):
    client = APIClient()
    with ConnectionKill(test_database_name, when=lambda sql, params: '"inventory_product"' in sql) as kill:
        response = client.get("/api/v1/products/")

    assert kill.fired
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == [fault_shop.product.slug]


def test_a_basket_add_that_loses_its_connection_before_writing_is_run_again_once(fault_shop, test_database_name):
    client = APIClient()
    with ConnectionKill(test_database_name, when=lambda sql, params: True) as kill:
        response = client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")

    assert kill.fired
    assert response.status_code == 201
    assert [(line["sku"], line["quantity"]) for line in response.json()["lines"]] == [("TEE-M", 1)]
    assert Basket.objects.count() == 1


def test_a_checkout_that_loses_its_connection_mid_saga_is_a_503_and_the_sweeper_confirms_the_order(
    fault_shop, test_database_name
):
    client = APIClient()
    assert client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json").status_code == 201
    body = {
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "payment_method": "pm_card_visa",
        "email": "robin@example.com",
    }
    # The saga has reserved the stock and is about to record its authorize step: the connection drops there.
    with ConnectionKill(
        test_database_name, when=lambda sql, params: _params_mention(params, "authorize_payment")
    ) as kill:
        response = client.post("/api/v1/checkout/", body, format="json", headers={"Idempotency-Key": str(uuid.uuid4())})

    assert kill.fired
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    problem = response.json()
    assert (problem["code"], problem["retry_after"]) == ("database_unavailable", 5)
    order = Order.objects.get()
    assert (order.status, order.stock_reserved, order.authorized_minor) == (OrderStatus.PENDING, True, 0)

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        order_services.sagas_sweep()

    order.refresh_from_db()
    assert (order.status, order.authorized_minor) == (OrderStatus.CONFIRMED, order.total_minor)
    payments = payment_selectors.payments_for_reference(reference=order.payment_reference)
    assert [(p.status, p.amount_minor) for p in payments] == [("authorized", order.total_minor)]


def test_a_storefront_post_that_loses_its_connection_after_writing_shows_a_friendly_503_page(
    fault_shop, test_database_name, client
):
    with ConnectionKill(test_database_name, when=lambda sql, params: 'INSERT INTO "orders_basketline"' in sql) as kill:
        response = client.post("/basket/add/", {"sku": "TEE-M", "quantity": 1})

    assert kill.fired
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert "We lost our connection for a moment." in response.content.decode()
    assert client.get("/basket/").status_code == 200, "the next request works on a fresh connection"
