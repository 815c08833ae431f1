"""From OrderConfirmed to delivered on the sandbox carrier, through the beat task alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from orders.events import OrderCancelled
from shipping.models import Shipment
from shipping.selectors import shipments_for_order
from shipping.tasks import poll_tracking_task
from tests.shipping.factories import ADDRESS, order_amended, order_confirmed, order_line

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STEP = timedelta(hours=1)  # SHIPPING_SANDBOX_STEP_SECONDS under test


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def emit(event):
    with transaction.atomic():
        publish(event)
    deliver_pending()


def events_named(name, order_number="FM-TEST0001"):
    return list(OutboxEvent.objects.filter(name=name, correlation_id=order_number).order_by("occurred_at", "event_id"))


def statuses(order_number="FM-TEST0001"):
    return [s.status for s in Shipment.objects.filter(order_number=order_number).order_by("warehouse_code")]


def test_confirmed_order_reaches_delivered_through_the_beat_task_alone(rates, customer, clock):
    emit(order_confirmed(user=customer))
    assert statuses() == ["pending"]

    poll_tracking_task()  # labels the parcel
    deliver_pending()
    assert statuses() == ["label_created"]
    shipment = Shipment.objects.get()
    assert shipment.tracking_number == f"SBX-N-{int(START.timestamp())}-{shipment.tracking_number[-4:]}"

    for expected in ["dispatched", "in_transit", "delivered"]:
        clock.shift(STEP)
        poll_tracking_task()
        deliver_pending()
        assert statuses() == [expected]

    created = events_named("ShipmentCreated")
    assert len(created) == 1
    assert created[0].payload["tracking_number"] == shipment.tracking_number
    assert created[0].payload["lines"] == [{"sku": "TEE-M-BLUE", "name": "Product TEE-M-BLUE", "quantity": 1}]
    assert created[0].payload["user_id"] == str(customer.public_id)
    assert [len(events_named(n)) for n in ("ShipmentDispatched", "ShipmentInTransit", "ShipmentDelivered")] == [1, 1, 1]
    delivered = events_named("ShipmentDelivered")[0]
    assert delivered.payload["all_delivered"] is True
    assert delivered.causation_id is None
    assert delivered.correlation_id == "FM-TEST0001"

    # Polling again changes nothing: every update is applied once.
    clock.shift(STEP * 5)
    poll_tracking_task()
    assert statuses() == ["delivered"]
    assert len(events_named("ShipmentDelivered")) == 1
    info = shipments_for_order(order_number="FM-TEST0001")[0]
    assert [(step.status, step.description, step.location) for step in info.history] == [
        ("label_created", "Label created: waiting for the carrier", ""),
        ("picked_up", "Picked up by the carrier", "Origin depot"),
        ("in_transit", "In transit", "Sorting hub"),
        ("delivered", "Delivered", "Destination"),
    ]


def test_split_shipment_per_warehouse(rates, customer, clock):
    lines = [
        order_line(
            "TEE",
            quantity=3,
            allocations=[{"warehouse_code": "east", "quantity": 2}, {"warehouse_code": "west", "quantity": 1}],
        ),
        order_line("MUG", quantity=1, allocations=[{"warehouse_code": "west", "quantity": 1}]),
    ]
    emit(order_confirmed(user=customer, lines=lines))

    infos = shipments_for_order(order_number="FM-TEST0001")
    by_wh = {i.warehouse_code: [(li.sku, li.quantity) for li in i.lines] for i in infos}
    assert by_wh == {"east": [("TEE", 2)], "west": [("TEE", 1), ("MUG", 1)]}

    poll_tracking_task()
    for _ in range(3):
        clock.shift(STEP)
        poll_tracking_task()
    deliver_pending()
    assert statuses() == ["delivered", "delivered"]
    delivered = sorted(e.payload["all_delivered"] for e in events_named("ShipmentDelivered"))
    assert delivered == [False, True]


def test_redelivered_order_confirmed_creates_shipments_once(rates, customer):
    event = order_confirmed(user=customer)
    emit(event)
    from shipping.services import shipments_create_for_order

    shipments_create_for_order(
        order_number=event.order_number,
        user_id=event.user_id,
        customer_email=event.customer_email,
        customer_name=event.customer_name,
        currency="USD",
        method_code="standard",
        address=event.shipping_address,
        lines=event.lines,
    )
    assert Shipment.objects.count() == 1


def test_unsupported_country_is_rejected_for_the_saga(rates, customer):
    event = order_confirmed(user=customer, address={"country": "KP", "city": "Pyongyang"})
    emit(event)

    assert Shipment.objects.count() == 0
    [rejected] = events_named("ShipmentRejected")
    assert rejected.payload == {
        "order_number": "FM-TEST0001",
        "user_id": str(customer.public_id),
        "customer_email": "casey@example.com",
        "shipment_number": "",
        "code": "unsupported_destination",
        "reason": "We do not ship to KP.",
    }
    assert rejected.causation_id == event.event_id


def test_carrier_refusing_the_label_is_rejected_for_the_saga(rates, customer):
    emit(order_confirmed(user=customer, address={"line2": "REFUSE"}))

    poll_tracking_task()
    shipment = Shipment.objects.get()
    assert shipment.status == "cancelled"
    [rejected] = events_named("ShipmentRejected")
    assert rejected.payload["code"] == "label_refused"
    assert rejected.payload["shipment_number"] == shipment.number
    assert rejected.payload["reason"] == "Sandbox carrier refused the label (REFUSE in the address)."
    assert events_named("ShipmentCreated") == []


def test_carrier_outage_keeps_the_shipment_pending_until_a_later_poll(rates, customer):
    emit(order_confirmed(user=customer, address={"line2": "CARRIER-DOWN"}))

    poll_tracking_task()
    shipment = Shipment.objects.get()
    assert shipment.status == "pending"
    assert shipment.label_error == "Sandbox carrier: simulated outage (CARRIER-DOWN in the address)."

    Shipment.objects.filter(pk=shipment.pk).update(address=ADDRESS)
    poll_tracking_task()
    assert Shipment.objects.get().status == "label_created"


def test_fail_once_path_fails_then_delivers(rates, customer, clock):
    emit(order_confirmed(user=customer, address={"line2": "FAIL-ONCE"}))
    poll_tracking_task()
    seen = []
    for _ in range(5):
        clock.shift(STEP)
        poll_tracking_task()
        seen.append(Shipment.objects.get().status)

    assert seen == ["dispatched", "in_transit", "delivery_failed", "in_transit", "delivered"]
    [failed] = events_named("DeliveryFailed")
    assert failed.payload["attempt"] == 1
    assert failed.payload["returned_to_sender"] is False
    assert failed.payload["reason"] == "Delivery attempt failed: recipient not available"
    assert [e.payload["reattempt"] for e in events_named("ShipmentInTransit")] == [False, True]
    assert len(events_named("ShipmentDelivered")) == 1


def test_fail_always_path_ends_returned_to_sender(rates, customer, clock):
    emit(order_confirmed(user=customer, address={"line1": "1 FAIL-ALWAYS Road"}))
    poll_tracking_task()
    clock.shift(STEP * 10)
    poll_tracking_task()  # one poll catches up with the whole history, in order

    shipment = Shipment.objects.get()
    assert shipment.status == "returned_to_sender"
    assert shipment.failed_attempts == 3
    failed = events_named("DeliveryFailed")
    # The third failure is the last the shop allows (SHIPPING_MAX_DELIVERY_ATTEMPTS = 3): the carrier is asked
    # to return the parcel, and it is returned to sender once the carrier accepted.
    assert sorted((e.payload["attempt"], e.payload["returned_to_sender"]) for e in failed) == [
        (1, False),
        (2, False),
        (3, False),
        (3, True),
    ]
    assert [t.to_state for t in shipment.transitions.all()] == [
        "label_created",
        "dispatched",
        "in_transit",
        "delivery_failed",
        "in_transit",
        "delivery_failed",
        "in_transit",
        "delivery_failed",
        "returned_to_sender",
    ]
    assert events_named("ShipmentDelivered") == []


def test_poll_works_in_batches_least_recently_polled_first(rates, customer, clock):
    for n in range(3):
        emit(order_confirmed(f"FM-BATCH{n}", user=customer))
    from shipping.services import shipments_poll

    assert shipments_poll(batch_size=2)["labels"] == 2
    assert shipments_poll(batch_size=2)["labels"] == 1
    clock.shift(STEP)
    first = shipments_poll(batch_size=2)
    second = shipments_poll(batch_size=2)
    assert (first["polled"], second["polled"]) == (2, 2)
    assert sorted(Shipment.objects.values_list("status", flat=True)) == ["dispatched"] * 3


def test_order_cancelled_cancels_undispatched_shipments_and_voids_labels(rates, customer, clock):
    emit(order_confirmed(user=customer))
    poll_tracking_task()
    shipment = Shipment.objects.get()
    assert shipment.status == "label_created"

    emit(
        OrderCancelled(
            correlation_id="FM-TEST0001",
            order_number="FM-TEST0001",
            user_id=str(customer.public_id),
            customer_email=customer.email,
            reason="Customer changed their mind",
            cancelled_by="customer",
            refunded_minor=0,
            currency="USD",
        )
    )
    shipment = Shipment.objects.get()
    assert shipment.status == "cancelled"
    assert shipment.transitions.last().reason == "Order cancelled: Customer changed their mind"
    assert len(events_named("ShipmentCancelled")) == 1

    poll_tracking_task()  # voids the label with the carrier, and stops tracking it
    shipment = Shipment.objects.get()
    assert shipment.label_cancelled_at == START
    clock.shift(STEP * 4)
    poll_tracking_task()
    assert Shipment.objects.get().status == "cancelled"


def test_order_cancelled_after_dispatch_leaves_the_parcel_alone(rates, customer, clock):
    emit(order_confirmed(user=customer))
    poll_tracking_task()
    clock.shift(STEP)
    poll_tracking_task()
    emit(
        OrderCancelled(
            correlation_id="FM-TEST0001",
            order_number="FM-TEST0001",
            user_id=None,
            customer_email=customer.email,
            reason="late",
            cancelled_by="staff",
            refunded_minor=0,
            currency="USD",
        )
    )
    assert statuses() == ["dispatched"]


def test_order_amended_updates_lines_and_relabels_a_new_address(rates, customer, clock):
    emit(order_confirmed(user=customer))
    poll_tracking_task()
    old = Shipment.objects.get()
    assert old.status == "label_created"

    emit(
        order_amended(
            user=customer,
            total_minor=9999,
            address={"line1": "99 Elm Street", "city": "Chicago"},
            lines=[
                order_line("TEE-M-BLUE", quantity=2, allocations=[{"warehouse_code": "east", "quantity": 2}]),
                order_line("CAP", quantity=1, allocations=[{"warehouse_code": "west", "quantity": 1}]),
            ],
            changes=["quantity", "address", "line_added"],
        )
    )
    east = Shipment.objects.get(warehouse_code="east")
    west = Shipment.objects.get(warehouse_code="west")
    assert east.status == "pending"
    assert east.tracking_number is None
    assert east.address["city"] == "Chicago"
    assert [(li.sku, li.quantity) for li in east.lines.all()] == [("TEE-M-BLUE", 2)]
    assert [(li.sku, li.quantity) for li in west.lines.all()] == [("CAP", 1)]

    clock.shift(timedelta(minutes=5))
    poll_tracking_task()
    assert statuses() == ["label_created", "label_created"]
    assert Shipment.objects.get(warehouse_code="east").tracking_number != old.tracking_number


def test_amendment_cancels_a_warehouse_left_without_lines_and_leaves_dispatched_parcels(rates, customer, clock):
    lines = [
        order_line("TEE", quantity=1, allocations=[{"warehouse_code": "east", "quantity": 1}]),
        order_line("MUG", quantity=1, allocations=[{"warehouse_code": "west", "quantity": 1}]),
    ]
    emit(order_confirmed(user=customer, lines=lines))
    poll_tracking_task()
    from shipping.services import shipment_dispatch

    shipment_dispatch(shipment_number=Shipment.objects.get(warehouse_code="east").number)

    emit(order_amended(user=customer, total_minor=2500, lines=[lines[0]], changes=["line_removed"]))

    assert statuses() == ["dispatched", "cancelled"]
    west = Shipment.objects.get(warehouse_code="west")
    assert west.transitions.last().reason == "Order amended: no lines left"
    [cancelled] = events_named("ShipmentCancelled")
    assert cancelled.payload["shipment_number"] == west.number


def test_every_transition_is_logged_with_actor_and_reason(rates, customer, clock):
    emit(order_confirmed(user=customer, address={"line2": "FAIL-ONCE"}))
    poll_tracking_task()
    clock.shift(STEP * 3)
    poll_tracking_task()

    shipment = Shipment.objects.get()
    log = [(t.from_state, t.to_state, t.actor, t.reason, t.at) for t in shipment.transitions.all()]
    assert log == [
        ("pending", "label_created", "carrier", f"Label {shipment.tracking_number}", START),
        ("label_created", "dispatched", "carrier", "Picked up by the carrier (Origin depot)", START + STEP * 3),
        ("dispatched", "in_transit", "carrier", "In transit (Sorting hub)", START + STEP * 3),
        (
            "in_transit",
            "delivery_failed",
            "carrier",
            "Delivery attempt failed: recipient not available (Local delivery station)",
            START + STEP * 3,
        ),
    ]


def test_parcel_waits_for_the_grace_period_in_which_the_customer_may_still_change_the_order(
    rates, customer, clock, settings
):
    settings.SHIPPING_LABEL_DELAY_SECONDS = 600
    emit(order_confirmed(user=customer))

    clock.shift(timedelta(minutes=9))
    poll_tracking_task()
    assert statuses() == ["pending"]  # still amendable / cancellable online

    clock.shift(timedelta(minutes=2))
    poll_tracking_task()
    assert statuses() == ["label_created"]
