"""Storefront pages (tracking, returns) and staff screens (pick list, packing slip, label, dispatch, returns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client

from flowmart.events.publisher import publish
from flowmart.events.testing import deliver_pending
from shipping import services
from shipping.models import ReturnRequest, Shipment
from shipping.tasks import poll_tracking_task
from tests.shipping.factories import order_confirmed, order_line

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def web(customer):
    client = Client()
    client.force_login(customer)
    return client


@pytest.fixture
def staff_web(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def confirm(user, lines=None):
    with transaction.atomic():
        publish(order_confirmed(user=user, lines=lines))
    deliver_pending()


def labelled(user, lines=None) -> Shipment:
    confirm(user, lines)
    poll_tracking_task()
    return Shipment.objects.get()


def delivered(clock, user) -> Shipment:
    labelled(user, [order_line("TEE-M-BLUE", quantity=2)])
    clock.shift(timedelta(hours=3))
    poll_tracking_task()
    return Shipment.objects.get()


# --- storefront -----------------------------------------------------------------------------


def test_tracking_page_shows_status_and_city_only(client, rates, customer, clock):
    shipment = labelled(customer)

    response = client.get(f"/tracking/{shipment.tracking_number}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Label created" in html
    assert f"Parcel <strong>{shipment.tracking_number}</strong> to Springfield, US" in html
    assert "12 Main Street" not in html
    assert "casey@example.com" not in html


def test_tracking_lookup_redirects_and_unknown_number_is_404(client, db):
    assert client.get("/tracking/", {"number": " SBX-N-1-AAAA "})["Location"] == "/tracking/SBX-N-1-AAAA/"
    response = client.get("/tracking/SBX-N-1-AAAA/")
    assert response.status_code == 404
    assert "We could not find a parcel with tracking number SBX-N-1-AAAA." in response.content.decode()


def test_customer_asks_for_a_return_in_the_storefront(web, rates, customer, clock):
    delivered(clock, customer)

    page = web.get("/returns/new/FM-TEST0001/")
    assert page.status_code == 200
    assert "Product TEE-M-BLUE (TEE-M-BLUE)" in page.content.decode()

    response = web.post("/returns/new/FM-TEST0001/", {"qty_0": "1", "reason": "Too big"})

    rma = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/returns/{rma.rma_number}/"
    detail = web.get(response["Location"]).content.decode()
    assert f"Return {rma.rma_number}" in detail
    assert "status <strong>Requested</strong>" in detail
    assert "1 × Product TEE-M-BLUE" in detail
    assert rma.rma_number in web.get("/returns/").content.decode()


def test_return_form_errors_are_shown_not_500(web, rates, customer, clock):
    delivered(clock, customer)

    response = web.post("/returns/new/FM-TEST0001/", {"qty_0": "0", "reason": "x"})
    assert response.status_code == 200
    assert "Choose at least one item to return." in response.content.decode()

    response = web.post("/returns/new/FM-TEST0001/", {"qty_0": "5", "reason": "x"})
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 2." in response.content.decode()
    assert ReturnRequest.objects.count() == 0


def test_other_customers_get_404_on_returns(rates, customer, other_customer, clock):
    delivered(clock, customer)
    rma = services.return_request(
        order_number="FM-TEST0001",
        user_id=str(customer.public_id),
        lines=[{"sku": "TEE-M-BLUE", "quantity": 1}],
        reason="r",
    )
    other = Client()
    other.force_login(other_customer)

    assert other.get("/returns/new/FM-TEST0001/").status_code == 404
    assert other.get(f"/returns/{rma.rma_number}/").status_code == 404
    assert rma.rma_number not in other.get("/returns/").content.decode()


def test_returns_need_login(client, db):
    assert client.get("/returns/")["Location"].startswith("/accounts/login/")


# --- staff ------------------------------------------------------------------------------------


def test_pick_list_packing_slip_and_label_pages(staff_web, rates, customer, clock):
    shipment = labelled(customer, [order_line("TEE", quantity=2), order_line("MUG", quantity=1)])

    pick = staff_web.get(f"/admin/shipping/shipment/pick-list/{shipment.warehouse_code}/").content.decode()
    assert "Pick list — warehouse east" in pick
    assert f"<td>TEE</td><td>Product TEE</td><td>2</td><td>{shipment.number}</td>" in pick

    slip = staff_web.get(f"/admin/shipping/shipment/{shipment.pk}/packing-slip/").content.decode()
    assert f"Packing slip {shipment.number}" in slip
    assert "12 Main Street" in slip
    assert "<td>MUG</td><td>Product MUG</td><td>1</td>" in slip

    label = staff_web.get(f"/admin/shipping/shipment/{shipment.pk}/label/").content.decode()
    assert f'<p class="tracking">{shipment.tracking_number}</p>' in label
    assert "600 g" in label

    change = staff_web.get(f"/admin/shipping/shipment/{shipment.pk}/change/")
    assert change.status_code == 200
    assert "State log" in change.content.decode()
    assert staff_web.get("/admin/shipping/shipment/").status_code == 200


def test_staff_dispatch_action_publishes_dispatched(staff_web, rates, customer, clock):
    shipment = labelled(customer)

    response = staff_web.post(
        "/admin/shipping/shipment/", {"action": "staff_dispatch", "_selected_action": [shipment.pk]}, follow=True
    )

    assert "Dispatch (handed to the carrier): 1 done." in response.content.decode()
    shipment = Shipment.objects.get()
    assert shipment.status == "dispatched"
    last = shipment.transitions.last()
    assert (last.actor, last.by.email) == ("staff", "staff@example.com")
    # The carrier's later "picked up" does not dispatch twice.
    clock.shift(timedelta(hours=1))
    poll_tracking_task()
    from flowmart.events.models import OutboxEvent

    assert OutboxEvent.objects.filter(name="ShipmentDispatched").count() == 1


def test_dispatching_a_pending_shipment_is_an_error_message(staff_web, rates, customer):
    confirm(customer)
    shipment = Shipment.objects.get()

    response = staff_web.post(
        "/admin/shipping/shipment/", {"action": "staff_dispatch", "_selected_action": [shipment.pk]}, follow=True
    )

    assert f"{shipment.number}: Shipment {shipment.number} cannot dispatch while pending." in response.content.decode()


def test_staff_approve_reject_and_receive_returns(staff_web, rates, customer, clock):
    delivered(clock, customer)
    make = lambda: services.return_request(  # noqa: E731
        order_number="FM-TEST0001",
        user_id=str(customer.public_id),
        lines=[{"sku": "TEE-M-BLUE", "quantity": 1}],
        reason="r",
    )
    first, second = make(), make()

    staff_web.post("/admin/shipping/returnrequest/", {"action": "staff_approve", "_selected_action": [first.pk]})
    assert ReturnRequest.objects.get(pk=first.pk).status == "approved"

    staff_web.post(f"/admin/shipping/returnrequest/{second.pk}/staff-action/reject/", {"reason": "Worn"})
    assert ReturnRequest.objects.get(pk=second.pk).staff_note == "Worn"

    bad = staff_web.post(
        f"/admin/shipping/returnrequest/{first.pk}/staff-action/receive/",
        {"decision": "exchange", "replacements": "nonsense"},
    )
    assert "is not SKU=REPLACEMENT." in bad.content.decode()
    staff_web.post(
        f"/admin/shipping/returnrequest/{first.pk}/staff-action/receive/",
        {"decision": "exchange", "replacements": "TEE-M-BLUE=TEE-L-BLUE", "note": "ok"},
    )
    received = ReturnRequest.objects.get(pk=first.pk)
    assert (received.status, received.decision) == ("received", "exchange")
    assert received.lines.get().replacement_sku == "TEE-L-BLUE"
    assert staff_web.get(f"/admin/shipping/returnrequest/{first.pk}/change/").status_code == 200


def test_staff_inspect_each_sku_and_withhold_a_refund_with_a_reason(staff_web, rates, customer, clock):
    delivered(clock, customer)
    rma = services.return_request(
        order_number="FM-TEST0001",
        user_id=str(customer.public_id),
        lines=[{"sku": "TEE-M-BLUE", "quantity": 1}],
        reason="r",
        reason_code="arrived_damaged",
    )
    services.return_approve(rma_number=rma.rma_number)
    url = f"/admin/shipping/returnrequest/{rma.pk}/staff-action/receive/"
    assert staff_web.get(url).status_code == 200

    # Staff say the shop was not at fault after all (the customer's reason code said it was).
    staff_web.post(
        url,
        {"decision": "refund", "shop_at_fault": "false", "conditions": "TEE-M-BLUE=damaged: Worn, tags removed"},
    )

    received = ReturnRequest.objects.get(pk=rma.pk)
    line = received.lines.get()
    assert (line.condition, line.refundable, line.not_refundable_reason, line.refund_minor) == (
        "damaged",
        False,
        "Worn, tags removed",
        0,
    )
    # Staff left "shop at fault" unticked: no shipping refund either.
    assert (received.shop_at_fault, received.goods_refund_minor, received.shipping_refund_minor) == (False, 0, 0)


def test_staff_screens_render(staff_web, rates, customer, clock):
    delivered(clock, customer)
    services.return_request(
        order_number="FM-TEST0001",
        user_id=str(customer.public_id),
        lines=[{"sku": "TEE-M-BLUE", "quantity": 1}],
        reason="r",
    )
    from shipping.models import ShippingMethod, ShippingZone

    for url in (
        "/admin/shipping/returnrequest/",
        "/admin/shipping/shippingzone/",
        f"/admin/shipping/shippingzone/{ShippingZone.objects.get(code='us').pk}/change/",
        f"/admin/shipping/shippingmethod/{ShippingMethod.objects.first().pk}/change/",
        f"/admin/shipping/returnrequest/{ReturnRequest.objects.get().pk}/staff-action/reject/",
    ):
        assert staff_web.get(url).status_code == 200, url


def test_seed_command_runs(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo_shipping", stdout=out)
    call_command("seed_demo_shipping", stdout=out)

    assert out.getvalue().splitlines() == ["shipping: 4 zones, 8 methods, 20 rates"] * 2


def test_tracking_number_typed_in_lower_case_is_found(client, rates, customer, clock):
    shipment = labelled(customer)
    response = client.get(f"/tracking/{shipment.tracking_number.lower()}/")
    assert response.status_code == 200
    assert shipment.tracking_number in response.content.decode()
