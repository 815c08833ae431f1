"""The whole flow on a real Celery worker: checkout → shipping labels the parcel → dispatch captures."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.selectors import order_timeline
from payments.selectors import payments_for_reference
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def quiet_worker(celery_worker, wait_until):
    """After the test: let every event delivery and task finish, so the table flush meets no open transaction."""
    yield celery_worker
    from celery.worker import state

    from flowmart.events.models import Delivery, OutboxEvent

    def settled():
        busy = Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING]).exists()
        undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
        return not busy and not undispatched and not state.active_requests and not state.reserved_requests

    wait_until(settled, timeout=30, message="the worker to go quiet")
    wait_until(settled, timeout=30, message="the worker to stay quiet")


def test_dispatch_on_the_worker_captures_payment_and_commits_stock(
    quiet_worker, customer_client, shop, checkout_body, wait_until, available
):
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json")
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="w1")
    assert r.status_code == 201
    number = r.json()["number"]

    # shipping consumes OrderConfirmed, the label task runs, ShipmentCreated moves the order on
    wait_until(lambda: Order.objects.get(number=number).status == "fulfilling", message="order fulfilling")
    [shipment] = shipping_selectors.shipments_for_order(order_number=number)
    shipping_services.shipment_dispatch(shipment_number=shipment.number)

    order = wait_until(
        lambda: Order.objects.filter(number=number, stock_committed=True, captured_minor=4499).first(),
        message="capture and stock commit after dispatch",
    )
    assert order.status == "shipped"
    assert [(p.status, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)] == [
        ("captured", 4499)
    ]
    assert available("TEE-M") == 3
    names = [e.name for e in order_timeline(order=order)]
    for expected in ("OrderConfirmed", "ShipmentCreated", "ShipmentDispatched", "InventoryCommitted", "OrderShipped"):
        assert expected in names


def test_carrier_refusal_on_the_worker_compensates_the_order(
    quiet_worker, customer_client, shop, checkout_body, wait_until, available
):
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 3}, format="json")
    body = checkout_body()
    body["shipping_address"]["line1"] = "1 REFUSE Road"  # the sandbox carrier refuses the label
    r = customer_client.post("/api/v1/checkout/", body, format="json")
    assert r.status_code == 201
    number = r.json()["number"]
    assert available("TEE-M") == 2

    order = wait_until(
        lambda: Order.objects.filter(number=number, status="cancelled", saga_status="compensated").first(),
        message="the saga compensates the refused order",
    )
    assert order.compensation_reason.startswith("shipping refused: ")
    assert [p.status for p in payments_for_reference(reference=order.payment_reference)] == ["voided"]
    assert available("TEE-M") == 5
    names = [e.name for e in order_timeline(order=order)]
    assert names.index("ShipmentRejected") < names.index("OrderCancelled")
