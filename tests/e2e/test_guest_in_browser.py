"""Guests are customers too, in a real browser: a guest who did not keep the browser they ordered in finds
their order by number and email, follows the emailed link, tracks the parcel and cancels; another order,
delivered, they return from its confirmation email's link, each in a fresh browser context.

Orders are placed through the orders service as a guest (no account, an email); mail is Django's locmem
outbox, filled by the real notifications pipeline (``deliver_pending`` + ``send_queued_notifications``).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from flowmart.events.testing import deliver_pending
from notifications.testing import send_queued_notifications
from orders import services as order_services
from orders.models import Order
from shipping import selectors as shipping_selectors
from shipping.models import ReturnRequest, Shipment
from tests.e2e.test_customer_journeys import ADDRESS, poll_parcels, shop  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUEST = "sam.guest@example.com"
LINK = re.compile(r"https?://[^/\s]+(/orders/link/[^/\s\"]+/)")


def place_guest_order(sku: str) -> Order:
    basket = order_services.basket_get_or_create(user=None)
    order_services.basket_line_add(basket=basket, sku=sku, quantity=1)
    order = order_services.checkout_place(
        basket=order_services.basket_find(basket_public_id=str(basket.public_id)),  # as saved, with its version
        user=AnonymousUser(),
        details=order_services.CheckoutDetails(
            shipping_address=dict(ADDRESS), shipping_method="standard", payment_method="pm_card_visa", email=GUEST
        ),
    )
    deliver_pending()
    send_queued_notifications()
    return order


def link_in_mail(number: str, subject_part: str) -> str:
    [message] = [m for m in mail.outbox if number in m.subject and subject_part in m.subject]
    return LINK.search(message.body).group(1)


def fresh_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_a_guest_finds_tracks_cancels_and_returns_from_the_emailed_links(browser, live_server, shop):  # noqa: F811
    with time_machine.travel(timezone.now() - timedelta(hours=4), tick=False):  # sandbox steps are 1 h apart
        to_return = place_guest_order("MUG")
        poll_parcels()  # labelled four hours ago
    to_cancel = place_guest_order("TEE-M")
    poll_parcels()  # to_cancel labelled (a tracking number); to_return picked up, in transit, delivered
    order_services.order_settle(order=Order.objects.get(number=to_return.number))  # the worker's settle task
    deliver_pending()
    [parcel] = shipping_selectors.shipments_for_order(order_number=to_cancel.number)
    assert Shipment.objects.get(order_number=to_return.number).status == "delivered"
    return_link = link_in_mail(to_return.number, "confirmed")  # the confirmation email's "View your order"
    mail.outbox.clear()

    # A browser that never saw the orders: the lookup emails the link, the page does not show it.
    context, page = fresh_page(browser, live_server)
    page.goto("/")
    page.get_by_role("link", name="Find an order").click()
    page.get_by_label("Order number").fill(to_cancel.number)
    page.get_by_label("Email used for the order").fill(GUEST)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("status")).to_contain_text("we have just emailed a link to it there")
    deliver_pending()
    send_queued_notifications()
    page.goto(link_in_mail(to_cancel.number, "link"))
    expect(page.get_by_role("heading", name=f"Order {to_cancel.number}")).to_be_visible()

    # Track the parcel with the order number and email (no tracking number at hand).
    page.get_by_role("link", name="Track a parcel").click()
    page.get_by_text("No tracking number? Use your order number and email").click()
    page.get_by_label("Order number").fill(to_cancel.number)
    page.get_by_label("Email used for the order").fill(GUEST)
    page.get_by_role("button", name="Find my parcels").click()
    expect(page.get_by_text(f"Parcel {parcel.tracking_number} to Springfield, US")).to_be_visible()

    # Back to the order (this browser may open it now) and cancel it.
    page.goto(f"/orders/{to_cancel.number}/")
    page.get_by_label("Reason (optional)").fill("Ordered the wrong size")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_text(f"Order {to_cancel.number} is cancelled.")).to_be_visible()
    context.close()
    to_cancel.refresh_from_db()
    assert to_cancel.status == "cancelled"

    # The delivered order, from its confirmation email's link, in another fresh browser.
    context, page = fresh_page(browser, live_server)
    page.goto(return_link)
    expect(page.get_by_role("heading", name=f"Order {to_return.number}")).to_be_visible()
    page.get_by_role("link", name="Return items").click()
    expect(page.get_by_role("heading", name=f"Return items from order {to_return.number}")).to_be_visible()
    page.get_by_label(re.compile(r"\(MUG\)")).fill("1")
    page.get_by_label("Why are you returning these items?").fill("Chipped on arrival")
    page.get_by_role("button", name="Ask for a return").click()
    rma = ReturnRequest.objects.get(order_number=to_return.number)
    expect(page.get_by_text(f"Return {rma.rma_number} requested.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Order {to_return.number}")).to_be_visible()
    context.close()
    assert (rma.user_id, rma.customer_email, rma.reason) == (None, GUEST, "Chipped on arrival")
