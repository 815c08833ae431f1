"""Issue 16 in a real browser: the carrier fails to deliver a parcel. Staff find the carrier's reason among the
orders needing attention (and the Warehouse group was emailed it); the customer was emailed the new estimate,
sees it on the order page, asks to collect the parcel, and the page shows the choice and the new date.

Data gets into shape as in test_customer_journeys: real services, ``deliver_pending()``, the sandbox carrier via
``shipments_poll``; the clock is moved only while setting up, never while the browser talks to the server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import dateformat, timezone
from playwright.sync_api import expect

from flowmart.events.testing import deliver_pending
from flowmart.users.demo import DEMO_PASSWORD
from notifications.testing import send_queued_notifications
from orders import services as order_services
from shipping import selectors as shipping_selectors
from tests.e2e.test_customer_journeys import ADDRESS, poll_parcels, shop, shopper, sign_in  # noqa: F401
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def place_order_to_a_door_nobody_opens(user, sku: str):
    """Checkout through the orders service to an address the sandbox carrier fails once (FAIL-ONCE)."""
    basket = order_services.basket_get_or_create(user=user)
    order_services.basket_line_add(basket=basket, sku=sku, quantity=1)
    order = order_services.checkout_place(
        basket=order_services.basket_get_or_create(user=user),
        user=user,
        details=order_services.CheckoutDetails(
            shipping_address={**ADDRESS, "line2": "FAIL-ONCE"},
            shipping_method="standard",
            payment_method="pm_card_visa",
        ),
    )
    deliver_pending()
    return order


def test_failed_delivery_alerts_staff_emails_the_estimate_and_the_customer_chooses_pick_up(page, shop, shopper):  # noqa: F811
    group, _ = Group.objects.get_or_create(name="Warehouse")  # shipping's data migration; flushed by earlier tests
    staff = UserFactory(email="wes@example.com", full_name="Wes Warehouse", is_staff=True, is_superuser=True)
    staff.groups.add(group)
    # Sandbox steps are 1 h apart: picked up, in transit, then the failed attempt half an hour ago.
    label_time = timezone.now() - timedelta(minutes=210)
    with time_machine.travel(label_time, tick=False):
        order = place_order_to_a_door_nobody_opens(shopper, "TEE-M")
        poll_parcels()  # label created
    poll_parcels()  # picked up, in transit, delivery failed; the carrier's new estimate
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)
    assert shipment.status == "delivery_failed"
    failed_at = label_time + timedelta(hours=3)
    estimate = dateformat.format((failed_at + timedelta(days=1)).date(), "l j F Y")  # the sandbox: the day after
    send_queued_notifications()

    warehouse_mail = [m for m in mail.outbox if m.to == [staff.email]]
    assert [m.subject for m in warehouse_mail] == [
        f"[Warehouse] Delivery failed: order {order.number}, parcel {shipment.number}"
    ]
    [to_customer] = [m for m in mail.outbox if m.to == [shopper.email] and "could not deliver" in m.subject]
    assert f"New estimated delivery: {estimate}." in to_customer.body

    # Staff: the order is among those needing attention, with the carrier's reason.
    page.goto("/admin/login/?next=/admin/orders/orderneedingattention/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    row = page.get_by_role("row", name=order.number)
    expect(row).to_contain_text(
        f"parcel {shipment.number}: delivery attempt 1 failed: Delivery attempt failed: recipient not available"
    )
    page.context.clear_cookies()

    # The customer: the new estimate on the order page, then the pick-up choice.
    sign_in(page, shopper)
    page.goto(f"/orders/{order.number}/")
    delivery = page.get_by_role("region", name=f"Delivery of {shipment.number}")
    expect(delivery).to_contain_text("Delivery attempt 1 failed: Delivery attempt failed: recipient not available.")
    expect(delivery).to_contain_text(f"New estimated delivery: {estimate} (the carrier's estimate).")
    delivery.get_by_role("button", name="Collect from Local delivery station").click()

    expect(page.get_by_text("Thank you: we passed your choice to the carrier.")).to_be_visible()
    pickup_day = dateformat.format((label_time + timedelta(hours=4)).date(), "l j F Y")  # ready one step later
    expect(delivery).to_contain_text(f"New estimated delivery: {pickup_day} (the carrier's estimate).")
    expect(delivery).to_contain_text("Your choice: collect from the pick-up point (Local delivery station).")
    expect(delivery.get_by_role("button")).to_have_count(0)
