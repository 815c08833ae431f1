"""Issue 6 in a real browser: a customer buys, cancels, amends, tracks, returns and sets notification preferences.

Data gets into shape through the real services: checkout through ``orders.services``, domain events
through ``deliver_pending()`` (no worker runs here), parcels through ``shipping.services.shipments_poll``
against the sandbox carrier. The clock is only moved (``time_machine``) while setting data up, never
while the browser talks to the live server.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from flowmart.events.testing import deliver_pending
from flowmart.users.demo import DEMO_PASSWORD
from inventory import services as inventory_services
from inventory.selectors import available_quantity
from notifications import preferences
from notifications.models import SandboxMessage
from notifications.testing import send_queued_notifications
from orders import services as order_services
from orders.models import Order
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services
from shipping.demo import seed_demo_shipping
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory
from tests.users.factories import AddressFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADDRESS = {
    "name": "Jo Journey",
    "line1": "7 Browser Lane",
    "line2": "",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


@pytest.fixture
def shop(db):
    """Canvas Tee ($20.00) and Enamel Mug ($12.50), 10 of each in the east warehouse; demo shipping rates."""
    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    VariantFactory(
        sku="TEE-M", price_minor=2000, weight_grams=200, product=ProductFactory(name="Canvas Tee", slug="canvas-tee")
    )
    VariantFactory(sku="MUG", price_minor=1250, weight_grams=300, product=ProductFactory(name="Enamel Mug"))
    inventory_services.stock_receive(sku="TEE-M", warehouse_code="east", quantity=10, reference="initial")
    inventory_services.stock_receive(sku="MUG", warehouse_code="east", quantity=10, reference="initial")


@pytest.fixture
def shopper(db):
    return UserFactory(email="jo@example.com", full_name="Jo Journey")


def place_order(user, *lines: tuple[str, int]) -> Order:
    """Checkout through the orders service (sandbox card), then let shipping react to OrderConfirmed."""
    basket = order_services.basket_get_or_create(user=user)
    for sku, quantity in lines:
        order_services.basket_line_add(basket=basket, sku=sku, quantity=quantity)
    order = order_services.checkout_place(
        basket=order_services.basket_get_or_create(user=user),  # as saved, with its current version
        user=user,
        details=order_services.CheckoutDetails(
            shipping_address=dict(ADDRESS), shipping_method="standard", payment_method="pm_card_visa"
        ),
    )
    deliver_pending()
    order.refresh_from_db()
    assert order.status == "confirmed"
    return order


def poll_parcels() -> None:
    """One round of the beat task (labels, carrier tracking), then every reaction to what it published."""
    shipping_services.shipments_poll()
    deliver_pending()


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def open_order_from_orders(page, order: Order) -> None:
    page.get_by_role("banner").get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    page.get_by_role("link", name=order.number).click()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()


def total_row(page):
    return page.get_by_role("row", name=re.compile(r"^Total\b"))


def test_signed_in_customer_buys_with_the_saved_address_and_finds_the_order(page, shop, shopper):
    AddressFactory(user=shopper, **{k: v for k, v in ADDRESS.items() if k != "line2"})

    sign_in(page, shopper)
    page.goto("/products/canvas-tee/")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Use a saved address")).to_contain_text("7 Browser Lane")
    expect(page.get_by_label("Full name")).to_be_hidden()  # the saved address is chosen: no new one to type
    page.get_by_label("Standard").check()
    page.get_by_label("Card number").fill("5555 5555 5555 4444")
    page.get_by_label("Expiry date").fill("0930")
    page.get_by_label("Security code").fill("321")
    page.get_by_role("button", name="Pay and place order").click()

    expect(page.get_by_role("heading", name=re.compile("Thank you! Your order"))).to_be_visible()
    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Thank you! Your order {order.number} is confirmed.")).to_be_visible()
    assert (order.email, order.shipping_address["line1"], order.subtotal_minor) == (
        shopper.email,
        "7 Browser Lane",
        2000,
    )
    assert order.total_minor == 2000 + order.shipping_minor
    assert available_quantity(sku="TEE-M") == 9

    open_order_from_orders(page, order)
    expect(page.get_by_text("Status: Confirmed")).to_be_visible()
    expect(total_row(page)).to_contain_text(f"${order.total_minor / 100:.2f}")
    expect(page.get_by_role("link", name="Change this order")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel order")).to_be_visible()


def test_customer_cancels_a_confirmed_order_with_a_reason_and_the_stock_comes_back(page, shop, shopper):
    order = place_order(shopper, ("TEE-M", 2), ("MUG", 1))
    assert (available_quantity(sku="TEE-M"), available_quantity(sku="MUG")) == (8, 9)

    sign_in(page, shopper)
    open_order_from_orders(page, order)
    expect(page.get_by_text("Status: Confirmed")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("Ordered the wrong size")
    page.get_by_role("button", name="Cancel order").click()

    expect(page.get_by_text(f"Order {order.number} is cancelled.")).to_be_visible()
    expect(page.get_by_text("Status: Cancelled")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(page.get_by_role("link", name="Change this order")).to_have_count(0)
    assert (available_quantity(sku="TEE-M"), available_quantity(sku="MUG")) == (10, 10)
    assert order.transitions.filter(to_state="cancelled", reason="Ordered the wrong size").exists()

    deliver_pending()  # shipping hears OrderCancelled: the undispatched parcel is cancelled too
    assert [s.status for s in shipping_selectors.shipments_for_order(order_number=order.number)] == ["cancelled"]

    page.get_by_role("banner").get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("row", name=re.compile(order.number))).to_contain_text("Cancelled")


def test_customer_changes_a_quantity_before_fulfilment_and_sees_the_new_total(page, shop, shopper):
    order = place_order(shopper, ("TEE-M", 1), ("MUG", 2))  # 20.00 + 2 × 12.50, standard shipping
    shipping_minor = order.shipping_minor
    assert order.total_minor == 4500 + shipping_minor
    # Shipping is re-quoted on every amendment (docs/orders.md): still below $50 and under 1 kg, the same price.
    new_total = 2000 + 1250 + shipping_minor

    sign_in(page, shopper)
    open_order_from_orders(page, order)
    expect(total_row(page)).to_contain_text(f"${order.total_minor / 100:.2f}")
    page.get_by_role("link", name="Change this order").click()

    expect(page.get_by_role("heading", name=f"Change order {order.number}")).to_be_visible()
    expect(page.get_by_label("Enamel Mug")).to_have_value("2")
    page.get_by_label("Enamel Mug").fill("1")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_text("Your order was updated.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Enamel Mug"))).to_contain_text("$12.50")
    expect(page.get_by_role("row", name=re.compile("^Subtotal"))).to_contain_text("$32.50")
    expect(total_row(page)).to_contain_text(f"${new_total / 100:.2f}")
    order.refresh_from_db()
    assert (order.total_minor, order.amendment_count) == (new_total, 1)
    assert order.notes.get(kind="amend").text == "Enamel Mug: 2 → 1"  # the address is untouched
    assert available_quantity(sku="MUG") == 9  # one mug went back to stock

    # More of something: the difference is authorized on the same card.
    page.get_by_role("link", name="Change this order").click()
    page.get_by_label("Canvas Tee").fill("3")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your order was updated.")).to_be_visible()
    higher_total = 3 * 2000 + 1250  # $72.50 reaches the $50 free-shipping threshold: shipping re-quoted to $0
    expect(total_row(page)).to_contain_text(f"${higher_total / 100:.2f}")
    order.refresh_from_db()
    assert (order.total_minor, order.authorized_minor, order.amendment_count) == (higher_total, higher_total, 2)
    assert available_quantity(sku="TEE-M") == 7

    deliver_pending()  # shipping hears OrderAmended: the parcel carries the new quantities
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)
    assert sorted((line.sku, line.quantity) for line in shipment.lines) == [("MUG", 1), ("TEE-M", 3)]


def test_anyone_tracks_a_moving_parcel_on_the_public_tracking_page(page, shop, shopper):
    label_time = timezone.now() - timedelta(minutes=150)  # sandbox steps are 1 h apart under test
    with time_machine.travel(label_time, tick=False):
        order = place_order(shopper, ("TEE-M", 1))
        poll_parcels()  # label created
    with time_machine.travel(label_time + timedelta(minutes=90), tick=False):
        poll_parcels()  # step 1: picked up
    [shipment] = shipping_selectors.shipments_for_order(order_number=order.number)
    assert shipment.status == "dispatched"

    page.goto("/")
    page.get_by_role("link", name="Track a parcel").click()
    page.get_by_label("Tracking number").fill(shipment.tracking_number)
    page.get_by_role("button", name="Track").click()

    expect(page).to_have_url(re.compile(rf"/tracking/{shipment.tracking_number}/$"))
    expect(page.get_by_role("heading", name="Dispatched", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Parcel {shipment.tracking_number} to Springfield, US")).to_be_visible()
    history = page.locator("ol.timeline li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Label created: waiting for the carrier")
    expect(history.nth(1)).to_contain_text("Picked up by the carrier (Origin depot)")
    expect(page.get_by_text("7 Browser Lane")).to_have_count(0)  # public page: no street, no name

    poll_parcels()  # now: step 2, in transit (delivery is due in half an hour)
    page.reload()
    expect(page.get_by_role("heading", name="In Transit", exact=True)).to_be_visible()
    expect(history).to_have_count(3)
    expect(history.nth(2)).to_contain_text("In transit (Sorting hub)")

    page.get_by_label("Tracking number").fill("SBX-N-1-NOPE")
    page.get_by_role("button", name="Track").click()
    expect(page.get_by_role("alert")).to_contain_text("We could not find a parcel with tracking number SBX-N-1-NOPE.")


def test_customer_returns_a_delivered_item_with_a_reason_and_sees_the_rma(page, shop, shopper):
    with time_machine.travel(timezone.now() - timedelta(hours=4), tick=False):
        order = place_order(shopper, ("TEE-M", 2), ("MUG", 1))
        poll_parcels()  # label created
    poll_parcels()  # picked up, in transit, delivered (3 h after the label)
    order_services.order_settle(order=order)  # what order_settle_task does on the worker after dispatch
    deliver_pending()
    order.refresh_from_db()
    assert order.status == "completed"

    sign_in(page, shopper)
    open_order_from_orders(page, order)
    expect(page.get_by_text("Status: Completed")).to_be_visible()
    page.get_by_role("link", name="Return items").click()

    expect(page.get_by_role("heading", name=f"Return items from order {order.number}")).to_be_visible()
    page.get_by_label("Canvas Tee (TEE-M)").fill("1")
    page.get_by_label("Why are you returning these items?").fill("Too small across the shoulders")
    page.get_by_role("button", name="Ask for a return").click()

    [rma] = shipping_selectors.returns_for_user(user_id=str(shopper.public_id))
    expect(page.get_by_text(f"Return {rma.rma_number} requested.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Return {rma.rma_number}")).to_be_visible()
    expect(page.get_by_text(f"Order {order.number} · status Requested")).to_be_visible()
    expect(page.get_by_text("1 × Canvas Tee")).to_be_visible()
    expect(page.get_by_text("Reason: Too small across the shoulders")).to_be_visible()

    page.get_by_role("link", name="All your returns").click()
    expect(page.get_by_role("row", name=re.compile(rma.rma_number))).to_contain_text("Requested")
    assert [(line.sku, line.quantity) for line in rma.lines.all()] == [("TEE-M", 1)]


def test_customer_switches_off_sms_for_shipping_updates_and_essentials_stay_on(page, shop, shopper):
    shopper.phone = "+15555550123"
    shopper.save(update_fields=["phone"])

    sign_in(page, shopper)
    page.get_by_role("banner").get_by_role("link", name="Account").click()
    page.get_by_role("link", name="how you want to hear from us").click()
    expect(page.get_by_role("heading", name="Notification preferences")).to_be_visible()

    sms = page.get_by_label("Shipping updates by SMS")
    expect(sms).to_be_checked()
    sms.uncheck()
    page.get_by_label("Order updates by Email").uncheck()  # essentials must still be emailed
    page.get_by_role("button", name="Save preferences").click()

    expect(page.get_by_text("Your notification preferences were saved.")).to_be_visible()
    expect(page.get_by_label("Shipping updates by SMS")).not_to_be_checked()
    expect(page.get_by_label("Shipping updates by Email")).to_be_checked()
    expect(page.get_by_label("Order updates by Email")).not_to_be_checked()
    expect(page.get_by_text("Order confirmations and payment problems are always emailed")).to_be_visible()
    matrix = preferences.preference_matrix(user=shopper)
    assert matrix["shipping_updates"] == {"email": True, "sms": False, "push": True}
    assert matrix["order_updates"]["email"] is False

    # What the customer then receives: the confirmation (an essential) and the dispatch email, no SMS.
    with time_machine.travel(timezone.now() - timedelta(minutes=90), tick=False):
        order = place_order(shopper, ("MUG", 1))
        poll_parcels()  # label created
    poll_parcels()  # picked up: dispatched
    send_queued_notifications()
    assert sorted(m.subject for m in mail.outbox if m.to == [shopper.email]) == [
        f"Order {order.number} confirmed",
        f"Order {order.number} is on its way",
    ]
    assert not SandboxMessage.objects.filter(channel="sms").exists()

    page.get_by_role("banner").get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Your messages")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(rf"Email Order {order.number} is on its way Sent"))).to_be_visible()
    expect(
        page.get_by_role("row", name=re.compile(r"SMS Shipment dispatched Not sent \(you opted out\)"))
    ).to_be_visible()
