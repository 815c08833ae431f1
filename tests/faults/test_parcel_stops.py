"""A hold or cancel stops the parcel first (docs/orders.md §Holds, cancels and parcels), and survives its process.

The customer's cancel and the staff member's hold run in a child process that stops a labelled parcel through the
EasyPost adapter (against its local stand-in, whose books say which labels were bought and voided), and is
SIGKILLed at each point where the carrier and our database disagree:

* ``before_void``: the parcel is marked held, the void request never reaches the carrier (the label is live);
* ``after_void``: the carrier voided the label, the answer never came back (our books still show the label);
* ``after_stop``: the parcel is stopped and committed (cancelled, or back to pending without a label), the
  order's hold or cancel is not (the test holds the order's row, the child waits for it and is killed there).

The recovery is the beat task's (``sweep_stuck_sagas_task`` → ``parcel_stops_finish``): it finishes the hold or
cancel. Then: no order cancelled while its parcel has a live label, no label paid for a cancelled order, no
parcel held for ever, stock and money books balance.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from flowmart.events.testing import deliver_pending
from orders import services
from orders.models import Order
from orders.tasks import sweep_stuck_sagas_task
from payments.selectors import payments_for_reference
from shipping import services as shipping_services
from shipping.models import Shipment, ShippingMethod
from tests.faults.database import database_url
from tests.faults.processes_parcels import StoppingOrder, sessions_blocked_by
from tests.orders import conftest as orders_fixtures
from tests.orders.order_books import authorization_problems, money_problems, stock_ledger_problems
from tests.polling import wait_for
from tests.shipping.easypost_standin import easypost_configured

shop = orders_fixtures.shop
checkout_body = orders_fixtures.checkout_body
available = orders_fixtures.available

pytestmark = pytest.mark.django_db(transaction=True)

KILL_POINTS = ["before_void", "after_void", "after_stop"]


@pytest.fixture
def carrier(settings, shop):
    """US standard parcels are labelled by EasyPost (its stand-in, in this process)."""
    with easypost_configured(settings) as standin:
        ShippingMethod.objects.filter(zone__code="us", code="standard").update(carrier="easypost")
        yield standin


@pytest.fixture
def labelled_order(customer_client, checkout_body, carrier):
    """Two tees, confirmed (authorized), their parcel labelled by the carrier: the order is ``fulfilling``."""
    assert customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}).status_code == 201
    response = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert response.status_code == 201, response.json()
    deliver_pending()  # shipping makes the parcel
    order = Order.objects.get(number=response.json()["number"])
    [shipment] = Shipment.objects.filter(order_number=order.number)
    shipping_services.shipment_create_label(shipment_number=shipment.number)
    deliver_pending()
    order.refresh_from_db()
    assert order.status == "fulfilling"
    assert len(carrier.purchases) == 1
    return order


@pytest.fixture
def order_row_holder():
    """A session of its own that can hold the order's row (``SELECT … FOR UPDATE``) until the test lets go."""
    with psycopg.connect(database_url()) as holder:
        yield holder
        holder.rollback()


def _killed_while_stopping(action, kill_point, *, order, user, carrier, order_row_holder) -> None:
    """Start the hold or cancel in a child process and SIGKILL it at ``kill_point``."""
    if kill_point == "after_stop":
        # When the void reaches the carrier, take the order's row: the child commits the stopped parcel, then
        # waits for the row to hold or cancel the order, and dies there.
        carrier.before["refund"] = lambda: order_row_holder.execute(
            "SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [order.pk]
        )
    else:
        carrier.stall("refund", after_work=kill_point == "after_void")
    child = StoppingOrder(action=action, order_id=order.pk, user_id=user.pk, easypost_url=carrier.url)
    try:
        if kill_point == "after_stop":
            holder = order_row_holder.info.backend_pid
            wait_for(lambda: child.alive() and sessions_blocked_by(holder) == 1, timeout=60, what="the child to wait")
        else:
            wait_for(lambda: child.alive() and carrier.stalled.is_set(), timeout=60, what="the void to reach us")
            # Alive, it holds the order's lock: the sweeper keeps its hands off, however late it is.
            with time_machine.travel(timezone.now() + timedelta(seconds=settings.ORDERS_SAGA_LEASE_SECONDS + 1)):
                assert services.parcel_stops_finish() == 0
    finally:
        child.kill()
        carrier.release()
        order_row_holder.rollback()
    child.wait_sessions_gone()


def _sweep_after_the_lease() -> None:
    """Beat's sweep: nothing while a live process might still own the hold or cancel, then it is finished."""
    assert services.parcel_stops_finish() == 0  # begun just now
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.ORDERS_SAGA_LEASE_SECONDS + 1)):
        sweep_stuck_sagas_task()
        assert services.parcel_stops_finish() == 0  # done once
    deliver_pending()


def _labels(carrier) -> tuple[list[str], list[str]]:
    """The carrier's own books: the labels it sold and the ones it voided (EasyPost shipment ids)."""
    return [p["shipment"] for p in carrier.purchases], list(carrier.refunds)


def _payments(order) -> list[tuple[str, int, int]]:
    return [
        (p.status, p.amount_minor, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)
    ]


def _books_balance(order) -> None:
    assert money_problems(order) == []
    assert authorization_problems() == []
    assert stock_ledger_problems() == []


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_a_cancel_killed_while_stopping_the_parcel_is_finished_with_no_live_label(
    kill_point, labelled_order, customer, carrier, order_row_holder, available
):
    order = labelled_order
    [sold] = _labels(carrier)[0]

    _killed_while_stopping(
        "cancel", kill_point, order=order, user=customer, carrier=carrier, order_row_holder=order_row_holder
    )

    # What the dead process left: the order going ahead, its parcel held or cancelled, the label live or not.
    order.refresh_from_db()
    shipment = Shipment.objects.get(order_number=order.number)
    assert (order.status, order.parcels_stop["action"]) == ("fulfilling", "cancel")
    assert (shipment.status, shipment.held) == (
        ("cancelled", True) if kill_point == "after_stop" else ("label_created", True)
    )
    assert _labels(carrier) == ([sold], [] if kill_point == "before_void" else [sold])

    _sweep_after_the_lease()

    order.refresh_from_db()
    shipment.refresh_from_db()
    assert (order.status, order.saga_status, order.parcels_stop) == ("cancelled", "compensated", None)
    assert order.transitions.last().actor == "customer"
    assert shipment.status == "cancelled"
    assert _labels(carrier) == ([sold], [sold])  # the one label bought is void: nothing paid for postage
    assert _payments(order) == [("voided", order.total_minor, 0)]
    assert available("TEE-M") == 5
    _books_balance(order)


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_a_hold_killed_while_stopping_the_parcel_is_finished_and_released_with_one_live_label(
    kill_point, labelled_order, staff_user, carrier, order_row_holder, available
):
    order = labelled_order
    [sold] = _labels(carrier)[0]

    _killed_while_stopping(
        "hold", kill_point, order=order, user=staff_user, carrier=carrier, order_row_holder=order_row_holder
    )

    order.refresh_from_db()
    shipment = Shipment.objects.get(order_number=order.number)
    assert (order.status, order.parcels_stop["action"]) == ("fulfilling", "hold")
    assert (shipment.status, shipment.held) == (
        ("pending", True) if kill_point == "after_stop" else ("label_created", True)
    )

    _sweep_after_the_lease()

    order.refresh_from_db()
    shipment.refresh_from_db()
    assert (order.status, order.hold_reason, order.parcels_stop) == ("on_hold", "address looks like fraud", None)
    held = order.transitions.last()
    assert (held.transition, held.actor, held.by) == ("hold", "staff", staff_user)
    assert (shipment.status, shipment.held, shipment.tracking_number) == ("pending", True, None)
    assert _labels(carrier) == ([sold], [sold])
    shipping_services.shipments_poll()  # held: no label is bought for it
    assert len(carrier.purchases) == 1

    services.order_release_hold(order=order, by=staff_user)
    shipping_services.shipment_create_label(shipment_number=shipment.number)  # the label task the release queued

    shipment.refresh_from_db()
    assert (shipment.status, shipment.held) == ("label_created", False)
    bought, voided = _labels(carrier)
    assert (len(bought), voided) == (2, [sold])  # one live label: the new one
    assert shipment.label_id == bought[1]
    assert _payments(order) == [("authorized", order.total_minor, 0)]
    assert available("TEE-M") == 3
    _books_balance(order)
