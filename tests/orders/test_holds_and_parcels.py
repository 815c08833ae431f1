"""Nothing leaves the warehouse unpaid: holding or cancelling a labelled order voids its label first (the sandbox
carrier refuses once it has picked the parcel up), and a parcel that leaves anyway ships the order, captured and
committed, flagged for staff. Releasing a hold after labelling does not reopen amendments."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from flowmart.errors import InvalidTransition
from flowmart.events.models import Command, OutboxEvent
from flowmart.events.testing import deliver_pending
from orders import selectors, services
from orders.errors import OrderActionNotAllowed
from payments.selectors import payments_for_reference
from shipping import services as shipping_services
from shipping.carriers import CarrierUnavailable, SandboxCarrier
from shipping.models import Shipment
from tests.orders.shipping_steps import shipment_dispatched_publish

pytestmark = pytest.mark.django_db

PICKED_UP = timedelta(hours=1, minutes=1)  # the sandbox's first step (picked up) comes one step after the label


def _labelled(order) -> Shipment:
    shipment = Shipment.objects.get(order_number=order.number)
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    deliver_pending()
    order.refresh_from_db()
    assert order.status == "fulfilling"
    return Shipment.objects.get(pk=shipment.pk)


def _payments(order):
    return [
        (p.status, p.amount_minor, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)
    ]


def _settle_as_the_worker(order) -> None:
    """Run the settle command the dispatch handler queued (what run_command_task does)."""
    assert (
        Command.objects.filter(task_name="orders.tasks.order_settle_task", kwargs={"order_id": order.pk}).count() == 1
    )
    services.order_settle(order=order)


def test_holding_a_labelled_order_voids_its_label_and_buys_none_until_released(place, staff_user, customer_client):
    order = place(("TEE-M", 1))
    shipment = _labelled(order)
    old_tracking = shipment.tracking_number

    services.order_hold(order=order, by=staff_user, reason="address looks like fraud")

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, shipment.status, shipment.held, shipment.tracking_number) == (
        "on_hold",
        "pending",
        True,
        None,
    )
    assert shipment.transitions.last().reason == "Label voided: order on hold: address looks like fraud"
    # No label while on hold: neither the poll nor the label task buys one, and staff cannot hand it over.
    shipping_services.shipments_poll()
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.tracking_number) == ("pending", None)
    with pytest.raises(InvalidTransition):
        shipping_services.shipment_dispatch(shipment_number=shipment.number)

    services.order_release_hold(order=order, by=staff_user)

    order.refresh_from_db()
    assert order.status == "fulfilling"  # labelled before: not back to confirmed
    r = customer_client.post(
        f"/api/v1/orders/{order.number}/amend/", {"lines": [{"sku": "TEE-M", "quantity": 2}]}, format="json"
    )
    assert (r.status_code, r.json()["code"]) == (409, "invalid_transition")
    assert "amend" not in selectors.order_actions(order=order)
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.held) == ("label_created", False)
    assert shipment.tracking_number not in (None, old_tracking)


def test_a_parcel_the_carrier_took_before_the_hold_voided_its_label_ships_the_order_paid(place, staff_user, available):
    order = place(("TEE-M", 2))  # 4000 + 499 shipping (400 g, below the $50 free-shipping threshold)
    shipment = _labelled(order)

    with time_machine.travel(timezone.now() + PICKED_UP):
        with pytest.raises(OrderActionNotAllowed) as refused:
            services.order_hold(order=order, by=staff_user, reason="count the shelf")
        assert refused.value.code == "order_dispatched"
        deliver_pending()
        _settle_as_the_worker(order)

    order.refresh_from_db()
    shipment.refresh_from_db()
    assert (shipment.status, shipment.held) == ("dispatched", False)
    assert order.status == "shipped"
    assert (order.captured_minor, order.total_minor) == (order.total_minor, 4499)
    assert _payments(order) == [("captured", 4499, 4499)]
    assert order.stock_committed and available("TEE-M") == 3
    assert order.failure_code == "parcel_left"
    assert f"parcel {shipment.number} had already been picked up" in order.failure_detail
    assert order in selectors.orders_needing_attention()


def test_a_dispatch_reported_for_an_order_on_hold_ships_and_settles_it(place, staff_user, available):
    order = place(("TEE-M", 3))  # 6000: free shipping
    services.order_hold(order=order, by=staff_user, reason="count the shelf")

    shipment_dispatched_publish(order, "SH-9")  # a parcel nobody could stop (e.g. handed over by hand)
    _settle_as_the_worker(order)

    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.transitions.last().reason == "shipment SH-9 dispatched while on hold"
    assert (order.captured_minor, order.stock_committed, available("TEE-M")) == (6000, True, 2)
    assert _payments(order) == [("captured", 6000, 6000)]
    assert order.failure_code == "parcel_left"
    assert order in selectors.orders_needing_attention()


def test_customer_cancel_of_a_labelled_order_voids_the_label_before_the_order_is_cancelled(
    place, customer_client, available
):
    order = place(("TEE-M", 1))
    shipment = _labelled(order)

    r = customer_client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "changed my mind"}, format="json")

    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    shipment.refresh_from_db()
    assert shipment.status == "cancelled" and shipment.label_cancelled_at is not None
    assert [p[0] for p in _payments(order)] == ["voided"]
    assert available("TEE-M") == 5


def test_customer_cancel_after_the_carrier_scanned_the_parcel_is_refused_and_the_order_ships_paid(
    place, customer_client, available
):
    order = place(("TEE-M", 3))  # 6000: free shipping
    shipment = _labelled(order)

    with time_machine.travel(timezone.now() + PICKED_UP):
        r = customer_client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "too slow"}, format="json")
        assert (r.status_code, r.json()["code"]) == (409, "order_dispatched")
        deliver_pending()
        _settle_as_the_worker(order)

    order.refresh_from_db()
    assert (order.status, order.captured_minor, order.stock_committed) == ("shipped", 6000, True)
    assert _payments(order) == [("captured", 6000, 6000)]
    assert available("TEE-M") == 2
    assert Shipment.objects.get(pk=shipment.pk).status == "dispatched"
    assert OutboxEvent.objects.filter(correlation_id=order.number, name="OrderCancelled").count() == 0
    assert order.failure_code == "parcel_left" and order.failure_detail.startswith(
        "customer asked to cancel (too slow)"
    )


def test_a_hold_the_carrier_cannot_confirm_is_refused_and_the_parcel_goes_on(place, staff_user, monkeypatch):
    order = place(("TEE-M", 1))
    shipment = _labelled(order)

    def carrier_down(self, *, tracking_number, label_id):
        raise CarrierUnavailable("the carrier's API timed out")

    monkeypatch.setattr(SandboxCarrier, "cancel", carrier_down)
    with pytest.raises(CarrierUnavailable):
        services.order_hold(order=order, by=staff_user, reason="count the shelf")

    order.refresh_from_db()
    shipment.refresh_from_db()
    assert order.status == "fulfilling"
    assert (shipment.status, shipment.held, shipment.label_cancelled_at) == ("label_created", False, None)


def test_staff_clear_the_parcel_flag_in_the_admin_with_a_note(place, staff_user):
    order = place(("TEE-M", 3))
    services.order_hold(order=order, by=staff_user, reason="count the shelf")
    shipment_dispatched_publish(order, "SH-9")
    _settle_as_the_worker(order)
    browser = Client()
    browser.force_login(staff_user)

    page = browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Issue dealt with (clear the flag)" in page
    browser.post(f"/admin/orders/order/{order.pk}/staff-action/flag_clear/", {"reason": "customer keeps it"})

    order.refresh_from_db()
    assert (order.failure_code, order.failure_detail) == ("", "")
    assert order not in selectors.orders_needing_attention()
    note = order.notes.get(kind="parcel_issue_resolved")
    assert note.text.endswith("check with the customer. — customer keeps it")
    assert (note.actor, note.by) == ("staff", staff_user)
