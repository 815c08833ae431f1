"""Races on one order, on real threads (each its own PostgreSQL connection): a customer cancel against the
carrier's scan of the parcel, and an amendment against a second amendment, a label purchase and a dispatch."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from flowmart.events.models import OutboxEvent
from flowmart.events.testing import deliver_pending
from flowmart.locks import ORDER_NAMESPACE
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from orders import services
from orders.errors import OrderActionNotAllowed
from orders.models import Order
from payments.selectors import payments_for_reference
from shipping import services as shipping_services
from shipping.carriers import get_carrier
from shipping.models import Shipment, TrackingEvent
from tests.orders.shipping_steps import shipment_dispatched_publish
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

PICKED_UP = timedelta(hours=1, minutes=1)  # the sandbox's first step (picked up) comes one step after the label


def _someone_waits_for_the_order_lock(timeout_seconds: float = 10.0) -> bool:
    """Another connection of this database is blocked on an order's lock (polls pg_locks; real waiting)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [ORDER_NAMESPACE],
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


@pytest.fixture
def amendment_paused(monkeypatch):
    """The first amendment stops inside (after taking the order's lock, at its stock call) until ``go`` is set."""
    inside, go = threading.Event(), threading.Event()
    real = inventory_services.stock_reservation_amend

    def paused(**kwargs):
        if not inside.is_set():
            inside.set()
            assert go.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(inventory_services, "stock_reservation_amend", paused)
    return inside, go


def _payments(order):
    return sorted(
        (p.status, p.amount_minor, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)
    )


def test_a_customer_cancel_racing_the_carriers_scan_ships_the_order_paid(place, available):
    orders = [place(("TEE-M", 1)) for _ in range(3)]  # 2000 + 499 shipping each
    shipments = []
    for order in orders:
        [shipment] = Shipment.objects.filter(order_number=order.number)
        shipping_services.shipment_create_label(shipment_number=shipment.number)
        shipments.append(Shipment.objects.get(pk=shipment.pk))
    deliver_pending()

    with time_machine.travel(timezone.now() + PICKED_UP):  # the carrier has the parcels
        for order, shipment in zip(orders, shipments, strict=True):
            updates = get_carrier("sandbox").track(tracking_number=shipment.tracking_number)

            def cancel_or_scan(i, order=order, shipment=shipment, updates=updates):
                if i == 0:
                    return services.order_cancel(order=order, actor="customer", reason="changed my mind")
                return shipping_services.tracking_updates_record(  # the carrier's webhook reporting the pick-up
                    tracking_number=shipment.tracking_number, updates=updates, source=TrackingEvent.Source.WEBHOOK
                )

            cancelled, scanned = run_in_threads(2, cancel_or_scan)
            assert isinstance(cancelled, OrderActionNotAllowed), cancelled
            assert cancelled.code == "order_dispatched"
            assert scanned == 1
            deliver_pending()
            services.order_settle(order=order)

    for order, shipment in zip(orders, shipments, strict=True):
        order.refresh_from_db()
        assert (order.status, order.captured_minor, order.stock_committed) == ("shipped", 2499, True)
        assert _payments(order) == [("captured", 2499, 2499)]
        assert Shipment.objects.get(pk=shipment.pk).status == "dispatched"
        dispatched = OutboxEvent.objects.filter(correlation_id=order.number, name="ShipmentDispatched")
        assert dispatched.count() == 1
        assert not OutboxEvent.objects.filter(correlation_id=order.number, name="OrderCancelled").exists()
    assert available("TEE-M") == 2


def test_two_concurrent_amendments_apply_one_after_the_other(place, customer, amendment_paused, available):
    inside, go = amendment_paused
    order = place(("TEE-M", 1), ("MUG", 1))  # 3250 + 499 shipping
    changes = [{"TEE-M": 3}, {"MUG": 2}]

    def amend_or_referee(i):
        if i == 2:  # once one amendment is inside, the other must be waiting for the order's lock: let it go on
            assert inside.wait(30)
            waited = _someone_waits_for_the_order_lock()
            go.set()
            return waited
        return services.order_amend(order=order, quantities=changes[i], by=customer)

    first, second, waited = run_in_threads(3, amend_or_referee)

    assert waited, "the second amendment did not wait for the first"
    assert isinstance(first, Order) and isinstance(second, Order), (first, second)
    order.refresh_from_db()
    assert sorted((line.sku, line.quantity) for line in order.lines.all()) == [("MUG", 2), ("TEE-M", 3)]
    # 6000 + 2500, free shipping from $50; each amendment authorized its own difference.
    assert (order.total_minor, order.shipping_minor, order.amendment_count) == (8500, 0, 2)
    assert _payments(order) == [("authorized", 1250, 0), ("authorized", 3501, 0), ("authorized", 3749, 0)]
    reservation = inventory_selectors.reservation_get(reference=order.number)
    assert sorted((a.sku, a.quantity) for a in reservation.allocations) == [("MUG", 2), ("TEE-M", 3)]
    assert (available("TEE-M"), available("MUG")) == (2, 3)


def test_no_label_is_bought_while_the_order_is_being_amended(place, customer, amendment_paused):
    inside, go = amendment_paused
    order = place(("TEE-M", 1))
    [shipment] = Shipment.objects.filter(order_number=order.number)

    def amend_or_label(i):
        if i == 0:
            return services.order_amend(order=order, quantities={"TEE-M": 3}, by=customer)
        assert inside.wait(30)  # the amendment holds the order's lock now
        labelled = shipping_services.shipment_create_label(shipment_number=shipment.number)
        go.set()
        return labelled

    amended, during = run_in_threads(2, amend_or_label)

    assert (during.status, during.tracking_number) == ("pending", None)
    assert isinstance(amended, Order), amended
    deliver_pending()  # OrderAmended: the parcel gets the new contents
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    shipment.refresh_from_db()
    assert shipment.status == "label_created"
    assert [(line.sku, line.quantity) for line in shipment.lines.all()] == [("TEE-M", 3)]


def test_a_dispatch_waits_for_the_amendment_in_progress_and_captures_the_amended_total(
    place, customer, amendment_paused
):
    inside, go = amendment_paused
    order = place(("TEE-M", 1))  # 2000 + 499

    def amend_dispatch_or_referee(i):
        if i == 0:
            return services.order_amend(order=order, quantities={"TEE-M": 3}, by=customer)
        assert inside.wait(30)  # the amendment holds the order's lock now
        if i == 1:
            return shipment_dispatched_publish(order, "SH-1")
        waited = _someone_waits_for_the_order_lock()
        go.set()
        return waited

    amended, dispatched, waited = run_in_threads(3, amend_dispatch_or_referee)

    assert waited, "the dispatch did not wait for the amendment"
    assert isinstance(amended, Order), amended
    assert dispatched is None, dispatched
    services.order_settle(order=order)
    order.refresh_from_db()
    assert (order.status, order.total_minor, order.captured_minor) == ("shipped", 6000, 6000)
    assert [t.transition for t in order.transitions.all()][-1] == "ship"
    assert order.notes.get().text == "Tee: 1 → 3; shipping 499 → 0"
