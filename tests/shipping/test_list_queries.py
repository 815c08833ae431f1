"""An order's shipments cost the same number of queries for one parcel as for several."""

from __future__ import annotations

import pytest

from tests.shipping.factories import ShipmentFactory, ShipmentLineFactory

pytestmark = pytest.mark.django_db


def add_shipment(customer, number):
    shipment = ShipmentFactory(order_number=number, user_id=str(customer.public_id), customer_email=customer.email)
    ShipmentLineFactory.create_batch(2, shipment=shipment)


def test_order_shipments_api_does_not_grow_with_parcels(customer, customer_client, count_queries):
    add_shipment(customer, "FM-QUERY001")
    url = "/api/v1/orders/FM-QUERY001/shipments/"
    one = count_queries(lambda: customer_client.get(url))

    for _ in range(3):
        add_shipment(customer, "FM-QUERY001")
    body = customer_client.get(url).json()
    assert len(body if isinstance(body, list) else body["results"]) == 4
    assert count_queries(lambda: customer_client.get(url)) == one
