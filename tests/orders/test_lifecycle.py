"""After checkout: fulfilment, dispatch (capture + stock commit), delivery, cancellation, amendment, returns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from flowmart.events.models import Command, OutboxEvent
from flowmart.events.testing import deliver_pending
from orders import services
from orders.models import Order
from payments.selectors import payments_for_reference
from shipping import events as shipping_events
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services
from tests.orders.shipping_steps import (
    order_dispatched,
    order_ship,
    return_received,
    shipping_event_publish,
)

pytestmark = pytest.mark.django_db


def _payments(order):
    return [
        (p.status, p.amount_minor, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)
    ]


def test_dispatch_captures_and_commits_then_delivery_completes(place, available):
    order = place(("TEE-M", 2), ("MUG", 2))  # 4000 + 2500, free shipping
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    deliver_pending()
    order.refresh_from_db()
    assert order.status == "fulfilling"

    order_dispatched(order, shipment.number)

    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.captured_minor == 6500
    assert _payments(order) == [("captured", 6500, 6500)]
    assert order.stock_committed
    assert available("TEE-M") == 3

    shipping_event_publish(
        shipping_events.ShipmentDelivered,
        order,
        shipment_number=shipment.number,
        kind="order",
        tracking_number="TRK1",
        delivered_at="2026-11-22T10:00:00+00:00",
        all_delivered=True,
    )
    order.refresh_from_db()
    assert order.status == "completed"
    assert [t.to_state for t in order.transitions.all()] == [
        "confirmed",
        "fulfilling",
        "shipped",
        "delivered",
        "completed",
    ]
    assert OutboxEvent.objects.filter(correlation_id=order.number, name="OrderCompleted").count() == 1


def test_partial_delivery_does_not_complete(place):
    order = place(("MUG", 1))
    order_dispatched(order)
    shipping_event_publish(
        shipping_events.ShipmentDelivered,
        order,
        shipment_number="SH-1",
        kind="order",
        tracking_number="TRK1",
        delivered_at="2026-11-22T10:00:00+00:00",
        all_delivered=False,
    )
    order.refresh_from_db()
    assert order.status == "shipped"


def test_customer_cancels_before_dispatch_voids_and_releases(place, customer_client, available):
    order = place(("TEE-M", 3))
    assert available("TEE-M") == 2

    r = customer_client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "changed my mind"}, format="json")

    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "cancelled"
    assert available("TEE-M") == 5
    assert [p[0] for p in _payments(order)] == ["voided"]
    cancelled = OutboxEvent.objects.get(correlation_id=order.number, name="OrderCancelled").payload
    assert (cancelled["cancelled_by"], cancelled["reason"], cancelled["refunded_minor"]) == (
        "customer",
        "changed my mind",
        0,
    )
    t = Order.objects.get(pk=order.pk).transitions.last()
    assert (t.from_state, t.to_state, t.actor, t.reason) == ("confirmed", "cancelled", "customer", "changed my mind")


def test_customer_cannot_cancel_after_dispatch_but_staff_can_with_refund(place, customer_client, staff_user):
    order = place(("MUG", 4))  # 5000: free shipping
    order_dispatched(order)

    r = customer_client.post(f"/api/v1/orders/{order.number}/cancel/", {}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "order_dispatched"

    services.order_cancel(order=order, by=staff_user, actor="staff", reason="lost in the warehouse")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.refunded_minor == 5000
    assert [p[0] for p in _payments(order)] == ["refunded"]


def test_amend_lowers_quantity_re_reserves_and_captures_only_the_new_total(place, customer_client, available):
    order = place(("TEE-M", 3), ("MUG", 2))  # 6000 + 2500
    assert available("MUG") == 3

    r = customer_client.post(
        f"/api/v1/orders/{order.number}/amend/",
        {"lines": [{"sku": "TEE-M", "quantity": 1}, {"sku": "MUG", "quantity": 0}]},
        format="json",
    )

    assert r.status_code == 200, r.json()
    assert [(line["sku"], line["quantity"]) for line in r.json()["lines"]] == [("TEE-M", 1)]
    # Shipping is re-quoted: $20.00 is below the $50.00 free-shipping threshold, 200 g costs $4.99.
    assert r.json()["totals"] == {
        "currency": "USD",
        "subtotal_minor": 2000,
        "discount_minor": 0,
        "shipping_minor": 499,
        "total_minor": 2499,
        "refunded_minor": 0,
        "refund_pending_minor": 0,
    }
    assert available("TEE-M") == 4 and available("MUG") == 5
    amended = OutboxEvent.objects.get(correlation_id=order.number, name="OrderAmended").payload
    assert amended["changes"] == ["Tee: 3 → 1", "Mug: 2 → 0", "shipping 0 → 499"]

    order_dispatched(order)
    order.refresh_from_db()
    assert order.captured_minor == 2499
    assert _payments(order) == [("captured", 8500, 2499)]


def test_amend_raising_a_quantity_authorizes_the_difference(place, customer_client, available):
    order = place(("TEE-M", 3))  # 6000, free shipping
    r = customer_client.post(
        f"/api/v1/orders/{order.number}/amend/", {"lines": [{"sku": "TEE-M", "quantity": 5}]}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["totals"]["total_minor"] == 10000
    assert available("TEE-M") == 0
    assert sorted((p[0], p[1]) for p in _payments(order)) == [("authorized", 4000), ("authorized", 6000)]

    order_dispatched(order)
    order.refresh_from_db()
    assert order.captured_minor == 10000
    assert sorted(p[0] for p in _payments(order)) == ["captured", "captured"]


def test_amend_beyond_stock_is_409_and_changes_nothing(place, customer_client, available):
    order = place(("TEE-M", 3))
    r = customer_client.post(
        f"/api/v1/orders/{order.number}/amend/", {"lines": [{"sku": "TEE-M", "quantity": 6}]}, format="json"
    )
    assert (r.status_code, r.json()["code"]) == (409, "insufficient_stock")
    order.refresh_from_db()
    assert (order.total_minor, available("TEE-M")) == (6000, 2)


def test_amend_cannot_empty_the_order(place, customer_client):
    order = place(("TEE-M", 1))
    r = customer_client.post(
        f"/api/v1/orders/{order.number}/amend/", {"lines": [{"sku": "TEE-M", "quantity": 0}]}, format="json"
    )
    assert (r.status_code, r.json()["code"]) == (400, "order_empty")


def test_amend_changes_the_address(place, customer_client):
    order = place(("TEE-M", 1))
    new = {"name": "Casey C", "line1": "9 Elm Road", "city": "Shelbyville", "postal_code": "54321", "country": "us"}
    r = customer_client.post(f"/api/v1/orders/{order.number}/amend/", {"shipping_address": new}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["shipping_address"]["line1"] == "9 Elm Road"
    assert r.json()["shipping_address"]["country"] == "US"


def test_another_customers_order_is_404(place, other_customer):
    order = place(("MUG", 1))
    from rest_framework.test import APIClient

    other = APIClient()
    other.force_authenticate(other_customer)
    assert other.get(f"/api/v1/orders/{order.number}/").status_code == 404
    assert other.post(f"/api/v1/orders/{order.number}/cancel/", {}, format="json").status_code == 404
    assert other.get("/api/v1/orders/").json()["results"] == []
    assert APIClient().get(f"/api/v1/orders/{order.number}/").status_code == 404


def test_order_list_and_detail_with_timeline(place, customer_client):
    order = place(("MUG", 1))
    listing = customer_client.get("/api/v1/orders/").json()
    assert [o["number"] for o in listing["results"]] == [order.number]
    detail = customer_client.get(f"/api/v1/orders/{order.number}/").json()
    names = [e["name"] for e in detail["timeline"]]
    assert names[:3] == ["UserCheckedOut", "OrderPlaced", "InventoryReserved"] or "OrderConfirmed" in names
    assert "OrderConfirmed" in names and "ShipmentCreated" not in names[:2]
    assert detail["actions"] == ["cancel", "amend"]
    assert [(p["status"], p["amount_minor"], p["last4"]) for p in detail["payments"]] == [("authorized", 1749, "4242")]
    assert [(s["kind"], s["status"]) for s in detail["shipments"]] == [("order", "pending")]


def test_return_received_refunds_restocks_and_marks_the_return(place, customer, available):
    order = place(("TEE-M", 2))
    shipment_number = order_ship(order)
    rma = return_received(order, customer, shipment_number, reason="too small", decision="refund")
    deliver_pending()
    services.order_return_settle(
        order=order,
        rma_number=rma.rma_number,
        decision="refund",
        refund_minor=2000,
        lines=[{"sku": "TEE-M", "quantity": 1}],
        warehouse_code="east",
    )

    order.refresh_from_db()
    assert order.refunded_minor == 2000
    assert available("TEE-M") == 4  # 5 - 2 sold + 1 back
    assert shipping_selectors.return_get(rma_number=rma.rma_number).status == "refunded"
    assert [p[0] for p in _payments(order)] == ["partially_refunded"]


def test_expired_reservation_is_taken_again_or_the_order_goes_on_hold(place, available, staff_user):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from inventory.allocation import StockLine
    from inventory.services import stock_reservations_expire, stock_reserve

    kept = place(("MUG", 2))
    short = place(("TEE-M", 4))
    with time_machine.travel(timezone.now() + timedelta(days=9)):
        assert stock_reservations_expire() == 2
        # Meanwhile someone takes most tees.
        stock_reserve(reference="order:elsewhere", lines=[StockLine(sku="TEE-M", quantity=3)])
        deliver_pending()
        services.order_stock_reserve_again(order=kept)
        services.order_stock_reserve_again(order=short)

    kept.refresh_from_db()
    short.refresh_from_db()
    assert (kept.status, kept.stock_reserved) == ("confirmed", True)
    assert available("MUG") == 3
    assert short.status == "on_hold"
    assert short.hold_reason.startswith("Some items turned out to be out of stock")
    held = OutboxEvent.objects.get(correlation_id=short.number, name="OrderOnHold").payload
    assert held["reason"] == short.hold_reason

    # Staff cannot release it while the stock is still short…
    with pytest.raises(Exception, match="Not enough stock"):
        services.order_release_hold(order=short, by=staff_user)
    # …and can once it is back.
    from inventory.services import stock_release

    stock_release(reference="order:elsewhere", reason="test")
    services.order_release_hold(order=short, by=staff_user)
    short.refresh_from_db()
    assert (short.status, short.stock_reserved) == ("confirmed", True)
    assert available("TEE-M") == 1


def test_timeline_lists_each_event_once_across_apps(place, customer_client):
    order = place(("MUG", 1))
    timeline = customer_client.get(f"/api/v1/orders/{order.number}/").json()["timeline"]
    names = [e["name"] for e in timeline]
    assert names.count("OrderConfirmed") == 1
    assert {"UserCheckedOut", "OrderPlaced", "InventoryReserved", "OrderConfirmed"} <= set(names)
    assert names.index("OrderPlaced") < names.index("InventoryReserved") < names.index("OrderConfirmed")


def test_settle_after_a_crash_between_capture_and_record_captures_once(place):
    from payments.services import payment_capture

    order = place(("MUG", 4))  # 5000
    [payment] = order.payments.all()
    payment_capture(payment_id=payment.payment_id, amount_minor=5000)  # the gateway did it; we never recorded it

    order_dispatched(order)

    order.refresh_from_db()
    assert (order.captured_minor, order.stock_committed) == (5000, True)
    assert _payments(order) == [("captured", 5000, 5000)]


def test_settle_refused_parks_the_order_for_staff(place):
    from inventory.services import stock_release
    from orders.selectors import orders_needing_attention

    order = place(("MUG", 1))
    stock_release(reference=order.stock_reference, reason="warehouse mistake")

    order_dispatched(order)

    order.refresh_from_db()
    assert order.failure_code == "settle_failed"
    assert order.failure_detail.startswith("reservation_not_active")
    assert order.captured_minor == 1749  # the money part went through
    assert order in orders_needing_attention()
    assert order.pk not in services.orders_to_settle()


def test_exchange_ships_a_replacement_and_marks_the_return(place, customer, available):
    order = place(("TEE-M", 1))
    shipment_number = order_ship(order)
    rma = return_received(
        order, customer, shipment_number, reason="size", decision="exchange", replacement_skus={"TEE-M": "MUG"}
    )
    received = OutboxEvent.objects.get(correlation_id=order.number, name="ReturnReceived").payload

    services.order_return_settle(
        order=order,
        rma_number=rma.rma_number,
        decision=received["decision"],
        refund_minor=received["refund_minor"],
        lines=received["lines"],
        warehouse_code=received["warehouse_code"],
    )

    order.refresh_from_db()
    assert order.refunded_minor == 0
    assert shipping_selectors.return_get(rma_number=rma.rma_number).status == "exchanged"
    kinds = [
        (s.kind, [line.sku for line in s.lines])
        for s in shipping_selectors.shipments_for_order(order_number=order.number)
    ]
    assert ("exchange", ["MUG"]) in kinds
    assert available("TEE-M") == 5  # the returned tee is back on the shelf
    assert available("MUG") == 4  # the replacement mug is held for the exchange parcel
    exchange = next(
        s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "exchange"
    )
    services.order_exchange_dispatched(order_number=order.number, shipment_number=exchange.number)
    from inventory.selectors import stock_levels_for_sku

    levels = {lv.warehouse_code: (lv.on_hand, lv.reserved) for lv in stock_levels_for_sku(sku="MUG")}
    assert levels == {"east": (2, 0), "west": (2, 0)}  # sold from east
    assert available("MUG") == 4
    # A redelivered ReturnReceived changes nothing.
    services.order_return_settle(
        order=order,
        rma_number=rma.rma_number,
        decision="exchange",
        refund_minor=0,
        lines=received["lines"],
        warehouse_code=received["warehouse_code"],
    )
    assert (
        len([s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "exchange"]) == 1
    )


def test_parcel_returned_to_sender_restocks_refunds_and_cancels(place, available):
    order = place(("TEE-M", 2))  # 4000 + 499
    shipment_number = order_ship(order)
    assert available("TEE-M") == 3

    services.order_returned_to_sender(order=order, shipment_number=shipment_number, reason="address unknown")

    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == ("cancelled", 4499)
    assert order.compensation_reason == "returned to sender: address unknown"
    assert available("TEE-M") == 5
    assert [p[0] for p in _payments(order)] == ["refunded"]


def test_the_sweep_leaves_a_settle_its_command_is_still_working_on(place):
    """Settling after dispatch is a durable command with its own retries: the stuck-saga sweep sends a settle
    only for an order no open settle command covers (else two settles would race for the same capture)."""
    order = place(("MUG", 1))
    Order.objects.filter(pk=order.pk).update(status="shipped", shipped_at=timezone.now() - timedelta(minutes=10))
    command = Command.objects.create(task_name="orders.tasks.order_settle_task", kwargs={"order_id": order.pk})

    assert order.pk not in services.orders_to_settle()
    Command.objects.filter(pk=command.pk).update(status=Command.Status.DEAD)
    assert order.pk in services.orders_to_settle()
