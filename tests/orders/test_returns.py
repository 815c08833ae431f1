"""Returns and exchanges, end to end from a real checkout: refund what was charged (discounts apportioned, shipping
by policy), inspection decides what goes back on sale, exchanges never ship stock that is someone else's."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from flowmart.events.models import OutboxEvent
from flowmart.events.testing import deliver_pending
from inventory import services as inventory_services
from inventory.models import Stock, StockMovement
from inventory.selectors import available_quantity
from notifications.testing import send_queued_notifications
from orders import services
from orders.models import Order
from payments.selectors import payments_for_reference
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services
from shipping.models import Shipment
from shipping.returns import ReturnNotAllowed
from tests.inventory.factories import ProductFactory, VariantFactory
from tests.orders.shipping_steps import order_ship
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def delivered(order) -> None:
    number = order_ship(order)
    Shipment.objects.filter(number=number).update(status="delivered", delivered_at=timezone.now())


def returned(order, customer, lines, *, reason_code="changed_mind", decision="refund", **receive):
    """The customer asks, staff approve, the parcel arrives and is inspected; then orders settles it as the
    ``order_return_settle_task`` would (with the ``ReturnReceived`` payload). The return, reloaded."""
    rma = shipping_services.return_request(
        order_number=order.number,
        user_id=str(customer.public_id),
        lines=[{"sku": sku, "quantity": qty} for sku, qty in lines],
        reason="see code",
        reason_code=reason_code,
    )
    shipping_services.return_approve(rma_number=rma.rma_number)
    shipping_services.return_receive(rma_number=rma.rma_number, decision=decision, **receive)
    settle(order, rma.rma_number)
    return shipping_selectors.return_get(rma_number=rma.rma_number)


def settle(order, rma_number: str) -> None:
    received = next(
        e.payload
        for e in OutboxEvent.objects.filter(name="ReturnReceived").order_by("-created_at")
        if e.payload["rma_number"] == rma_number
    )
    deliver_pending()
    services.order_return_settle(
        order=order,
        rma_number=rma_number,
        decision=received["decision"],
        refund_minor=received["refund_minor"],
        lines=received["lines"],
        warehouse_code=received["warehouse_code"],
        exchange_charge_minor=received["exchange_charge_minor"],
    )
    deliver_pending()


def ledger_balances() -> None:
    for stock in Stock.objects.all():
        moved = StockMovement.objects.filter(stock=stock).aggregate(n=Sum("quantity"))["n"] or 0
        assert moved == stock.on_hand, stock


# -- refund what was paid, never more -------------------------------------------------------------------------


def test_a_member_gets_back_what_they_paid_per_unit_never_the_list_price(place, customer, shop):
    VariantFactory(sku="CAP", price_minor=1333, weight_grams=100, product=ProductFactory(name="Cap"))
    inventory_services.stock_receive(sku="CAP", warehouse_code="east", quantity=5, reference="initial")
    SubscriptionFactory(user=customer)  # Plus: 10% off, free shipping
    order = place(("CAP", 3))  # 3999 − 400 (10%, rounded) = 3599 charged for three caps
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (3999, 400, 3599)
    delivered(order)

    first = returned(order, customer, [("CAP", 1)])
    rest = returned(order, customer, [("CAP", 2)])

    # 3599 over 3 units: 1200, 1200, 1199 (the remainder cent goes to the first units).
    assert (first.goods_refund_minor, first.shipping_refund_minor, first.refund_minor) == (1200, 0, 1200)
    assert [(li.charged_minor, li.refund_minor) for li in first.lines.all()] == [(1200, 1200)]
    assert (rest.goods_refund_minor, rest.refund_minor) == (2399, 2399)
    order.refresh_from_db()
    assert order.refunded_minor == 3599 == order.captured_minor  # everything back, not a cent more
    assert (first.status, rest.status) == ("refunded", "refunded")


def test_shipping_is_refunded_only_when_the_whole_order_comes_back(place, customer):
    order = place(("TEE-M", 2))  # 4000 + 499 shipping
    assert order.shipping_minor == 499
    delivered(order)

    first = returned(order, customer, [("TEE-M", 1)], reason_code="does_not_fit")
    last = returned(order, customer, [("TEE-M", 1)], reason_code="does_not_fit")

    assert (first.goods_refund_minor, first.shipping_refund_minor) == (2000, 0)
    assert (last.goods_refund_minor, last.shipping_refund_minor, last.refund_minor) == (2000, 499, 2499)
    order.refresh_from_db()
    assert order.refunded_minor == 4499 == order.captured_minor


def test_shipping_is_refunded_once_when_the_shop_was_at_fault(place, customer, available):
    order = place(("TEE-M", 2))
    delivered(order)

    damaged = returned(
        order, customer, [("TEE-M", 1)], reason_code="arrived_damaged", inspection={"TEE-M": {"condition": "damaged"}}
    )
    later = returned(order, customer, [("TEE-M", 1)], reason_code="wrong_item")

    assert (damaged.shop_at_fault, damaged.goods_refund_minor, damaged.shipping_refund_minor) == (True, 2000, 499)
    assert (later.shop_at_fault, later.goods_refund_minor, later.shipping_refund_minor) == (True, 2000, 0)
    order.refresh_from_db()
    assert order.refunded_minor == 4499


def test_the_amounts_show_in_the_api_and_the_customers_email(place, customer, customer_client):
    order = place(("TEE-M", 1), ("MUG", 1))  # 2000 + 1250 + 499
    delivered(order)
    mail.outbox.clear()

    rma = returned(
        order,
        customer,
        [("TEE-M", 1), ("MUG", 1)],
        inspection={"MUG": {"condition": "damaged", "refundable": False, "not_refundable_reason": "Used"}},
    )

    body = customer_client.get(f"/api/v1/returns/{rma.rma_number}/").json()
    # The whole order came back, but the mug is not refunded: the shipping stays charged.
    assert body["refund"] == {"goods_minor": 2000, "shipping_minor": 0, "total_minor": 2000, "shop_at_fault": False}
    assert [
        (
            li["sku"],
            li["charged_minor"],
            li["condition"],
            li["refundable"],
            li["not_refundable_reason"],
            li["refund_minor"],
        )
        for li in body["lines"]
    ] == [("TEE-M", 2000, "resellable", True, "", 2000), ("MUG", 1250, "damaged", False, "Used", 0)]
    send_queued_notifications()
    [email] = [m for m in mail.outbox if m.subject == f"We received your return {rma.rma_number}"]
    assert "1 × Tee: $20.00" in email.body
    assert "1 × Mug: not refunded (Used)" in email.body
    assert "We are refunding $20.00 to your original payment method." in email.body
    order.refresh_from_db()
    assert order.refunded_minor == 2000


# -- inspection decides what goes back on sale ------------------------------------------------------------------


def test_resellable_units_go_back_on_sale_damaged_ones_are_written_off(place, customer, available):
    order = place(("TEE-M", 1), ("MUG", 2))
    delivered(order)
    assert (available("TEE-M"), available("MUG")) == (4, 3)

    rma = returned(
        order,
        customer,
        [("TEE-M", 1), ("MUG", 2)],
        inspection={"TEE-M": {"condition": "damaged"}},
    )

    assert (available("TEE-M"), available("MUG")) == (4, 5)  # the damaged tee is not for sale
    written_off = StockMovement.objects.filter(reason="return_damaged").values_list(
        "stock__variant__sku", "quantity", "note"
    )
    assert list(written_off) == [("TEE-M", -1, f"return {rma.rma_number}")]
    ledger_balances()
    assert rma.goods_refund_minor == 2000 + 2500  # damaged by the customer or not: refunded unless staff say why not


def test_missing_units_are_neither_refunded_nor_restocked(place, customer, available):
    order = place(("TEE-M", 1), ("MUG", 1))
    delivered(order)

    rma = returned(order, customer, [("TEE-M", 1), ("MUG", 1)], inspection={"MUG": {"condition": "missing"}})

    assert [(li.sku, li.condition, li.refundable, li.refund_minor) for li in rma.lines.all()] == [
        ("TEE-M", "resellable", True, 2000),
        ("MUG", "missing", False, 0),
    ]
    assert (rma.goods_refund_minor, rma.shipping_refund_minor) == (2000, 0)  # not the whole order back
    assert (available("TEE-M"), available("MUG")) == (5, 4)
    ledger_balances()


def test_not_refunded_needs_a_reason(place, customer):
    order = place(("TEE-M", 1))
    delivered(order)
    rma = shipping_services.return_request(
        order_number=order.number, user_id=str(customer.public_id), lines=[{"sku": "TEE-M", "quantity": 1}], reason="x"
    )
    shipping_services.return_approve(rma_number=rma.rma_number)

    with pytest.raises(ReturnNotAllowed) as caught:
        shipping_services.return_receive(
            rma_number=rma.rma_number, decision="refund", inspection={"TEE-M": {"refundable": False}}
        )

    assert caught.value.code == "return_inspection_invalid"
    assert shipping_selectors.return_get(rma_number=rma.rma_number).status == "approved"


def test_a_second_return_of_the_same_sku_is_restocked_too(place, customer, available):
    order = place(("TEE-M", 2))
    delivered(order)

    returned(order, customer, [("TEE-M", 1)])
    returned(order, customer, [("TEE-M", 1)])

    assert available("TEE-M") == 5
    ledger_balances()


# -- exchanges never ship stock that is someone else's ---------------------------------------------------------


def exchange_received(order, customer):
    """The tee comes back to be exchanged for a mug (the handler not run yet)."""
    rma = shipping_services.return_request(
        order_number=order.number, user_id=str(customer.public_id), lines=[{"sku": "TEE-M", "quantity": 1}], reason="x"
    )
    shipping_services.return_approve(rma_number=rma.rma_number)
    shipping_services.return_receive(rma_number=rma.rma_number, decision="exchange", replacement_skus={"TEE-M": "MUG"})
    return rma.rma_number


def exchange_parcels(order):
    return [s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "exchange"]


def test_an_exchange_whose_replacement_was_taken_waits_then_ships_when_stock_arrives(place, customer, available):
    order = place(("TEE-M", 1))
    delivered(order)
    rma_number = exchange_received(order, customer)
    # Another customer's order holds every mug left.
    inventory_services.stock_reserve(reference="FM-OTHER", lines=[inventory_services.StockLine(sku="MUG", quantity=5)])

    settle(order, rma_number)

    assert exchange_parcels(order) == []  # nothing ships from the other customer's mugs
    assert shipping_selectors.return_get(rma_number=rma_number).status == "awaiting_stock"
    assert available("MUG") == 0
    assert services.exchanges_waiting_retry() == 0  # still none: it keeps waiting

    inventory_services.stock_receive(sku="MUG", warehouse_code="east", quantity=1, reference="po-1")
    assert services.exchanges_waiting_retry() == 1

    assert [[line.sku for line in s.lines] for s in exchange_parcels(order)] == [["MUG"]]
    assert shipping_selectors.return_get(rma_number=rma_number).status == "exchanged"
    assert available("MUG") == 0  # the new mug is held for the exchange parcel


def test_an_exchange_that_waited_too_long_is_refunded(place, customer, settings):
    order = place(("TEE-M", 1))  # 2000 + 499
    delivered(order)
    rma_number = exchange_received(order, customer)
    inventory_services.stock_reserve(reference="FM-OTHER", lines=[inventory_services.StockLine(sku="MUG", quantity=5)])
    settle(order, rma_number)

    with time_machine.travel(timezone.now() + timedelta(days=settings.RETURN_EXCHANGE_WAIT_DAYS, minutes=1)):
        assert services.exchanges_waiting_retry() == 1

    rma = shipping_selectors.return_get(rma_number=rma_number)
    assert (rma.status, rma.decision, rma.refund_minor) == ("refunded", "refund", 2000)
    order.refresh_from_db()
    assert order.refunded_minor == 2000
    assert exchange_parcels(order) == []


@pytest.mark.django_db(transaction=True)
def test_an_exchange_racing_another_customer_for_the_last_unit_never_oversells(
    customer_client, customer, shop, checkout_body
):
    assert (
        customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json").status_code == 201
    )
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    deliver_pending()
    order = Order.objects.get(number=r.json()["number"])
    delivered(order)
    rma_number = exchange_received(order, customer)
    deliver_pending()
    inventory_services.stock_reserve(
        reference="FM-EARLIER", lines=[inventory_services.StockLine(sku="MUG", quantity=4)]
    )
    assert available_quantity(sku="MUG") == 1  # the last mug

    start = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def other_customer():
        try:
            start.wait()
            inventory_services.stock_reserve(
                reference="FM-RIVAL", lines=[inventory_services.StockLine(sku="MUG", quantity=1)]
            )
            outcome["rival"] = "reserved"
        except inventory_services.InsufficientStock:
            outcome["rival"] = "short"
        finally:
            connection.close()

    def exchange():
        try:
            start.wait()
            received = OutboxEvent.objects.get(name="ReturnReceived").payload
            services.order_return_settle(
                order=order,
                rma_number=rma_number,
                decision="exchange",
                refund_minor=0,
                lines=received["lines"],
                warehouse_code=received["warehouse_code"],
            )
            outcome["exchange"] = shipping_selectors.return_get(rma_number=rma_number).status
        finally:
            connection.close()

    threads = [threading.Thread(target=other_customer), threading.Thread(target=exchange)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Exactly one of them has the last mug, whichever came first; the exchange parcel exists only if it did.
    shipped = exchange_parcels(order)
    if outcome["rival"] == "reserved":
        assert (outcome["exchange"], shipped) == ("awaiting_stock", [])
    else:
        assert outcome == {"rival": "short", "exchange": "exchanged"}
        assert len(shipped) == 1
    mugs = Stock.objects.filter(variant__sku="MUG")
    assert sum(s.reserved for s in mugs) == sum(s.on_hand for s in mugs) == 5
    ledger_balances()


# -- the customer asks for an exchange ---------------------------------------------------------------------------


@pytest.fixture
def tee_sizes(shop):
    """Other variants of the Tee: L at the same price, S cheaper, XL dearer; and a mug (another product)."""
    product = shop["TEE-M"].product
    for sku, price in (("TEE-L", 2000), ("TEE-S", 1800), ("TEE-XL", 2200)):
        VariantFactory(sku=sku, price_minor=price, weight_grams=200, product=product)
        inventory_services.stock_receive(sku=sku, warehouse_code="east", quantity=2, reference="initial")


def ask_exchange(client, order, replacement_sku, **headers):
    return client.post(
        f"/api/v1/orders/{order.number}/exchanges/",
        {
            "reason": "too tight",
            "reason_code": "does_not_fit",
            "lines": [{"sku": "TEE-M", "quantity": 1, "replacement_sku": replacement_sku}],
        },
        format="json",
        **headers,
    )


def test_the_customer_asks_for_another_size_in_the_api(place, customer_client, tee_sizes):
    order = place(("TEE-M", 1))
    delivered(order)

    r = ask_exchange(customer_client, order, "TEE-L", HTTP_IDEMPOTENCY_KEY="swap-1")

    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["status"], body["requested"]) == ("requested", "exchange")
    assert body["lines"] == [
        {
            "sku": "TEE-M",
            "quantity": 1,
            "replacement_sku": "TEE-L",
            "charged_minor": 2000,
            "replacement_charged_minor": 2000,
        }
    ]
    detail = customer_client.get(f"/api/v1/returns/{body['rma_number']}/").json()
    assert [li["replacement_sku"] for li in detail["lines"]] == ["TEE-L"]


def test_an_exchange_must_be_another_variant_of_the_same_product(place, customer_client, other_customer, tee_sizes):
    order = place(("TEE-M", 1))
    delivered(order)

    mug = ask_exchange(customer_client, order, "MUG")
    unknown = ask_exchange(customer_client, order, "NOPE")

    assert (mug.status_code, mug.json()["code"]) == (400, "exchange_variant_invalid")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "exchange_variant_invalid")
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.force_authenticate(other_customer)
    assert ask_exchange(stranger, order, "TEE-L").status_code == 404


def test_a_cheaper_replacement_ships_and_refunds_the_difference_at_the_members_price(
    place, customer, customer_client, tee_sizes, available
):
    SubscriptionFactory(user=customer)  # Plus: 10% off
    order = place(("TEE-M", 1))  # 2000 − 200 = 1800 charged
    delivered(order)
    r = ask_exchange(customer_client, order, "TEE-S")  # 1800 − 10% = 1620 for the customer
    assert r.json()["lines"][0]["replacement_charged_minor"] == 1620
    rma_number = r.json()["rma_number"]
    shipping_services.return_approve(rma_number=rma_number)
    shipping_services.return_receive(rma_number=rma_number, decision="exchange")  # the customer's choice stands

    settle(order, rma_number)

    rma = shipping_selectors.return_get(rma_number=rma_number)
    assert (rma.status, rma.goods_refund_minor, rma.refund_minor) == ("exchanged", 180, 180)
    assert [[line.sku for line in s.lines] for s in exchange_parcels(order)] == [["TEE-S"]]
    order.refresh_from_db()
    assert order.refunded_minor == 180
    assert (available("TEE-M"), available("TEE-S")) == (5, 1)  # the tee back on sale, one S held for the parcel


def test_the_storefront_exchange_form(place, customer, client, tee_sizes):
    order = place(("TEE-M", 1))
    delivered(order)
    client.force_login(customer)

    page = client.get(f"/orders/{order.number}/exchange/")
    assert page.status_code == 200
    assert [value for value, _ in page.context["form"].fields["replacement_0"].choices] == [
        "TEE-M",
        "TEE-L",
        "TEE-S",
        "TEE-XL",
    ]

    r = client.post(
        f"/orders/{order.number}/exchange/",
        {"qty_0": "1", "replacement_0": "TEE-L", "reason_code": "does_not_fit", "reason": "too tight"},
    )

    rma = shipping_selectors.returns_for_user(user_id=str(customer.public_id)).get()
    assert r.status_code == 302 and r["Location"] == f"/returns/{rma.rma_number}/"
    assert (rma.requested, [li.replacement_sku for li in rma.lines.all()]) == ("exchange", ["TEE-L"])


def dearer_exchange_received(order, customer_client):
    r = ask_exchange(customer_client, order, "TEE-XL")  # 2200 for a tee that cost 2000
    assert r.json()["lines"][0]["replacement_charged_minor"] == 2200
    rma_number = r.json()["rma_number"]
    shipping_services.return_approve(rma_number=rma_number)
    shipping_services.return_receive(rma_number=rma_number, decision="exchange")
    assert OutboxEvent.objects.get(name="ReturnReceived").payload["exchange_charge_minor"] == 200
    return rma_number


def test_a_dearer_replacement_is_charged_the_difference_once_when_reserved(
    place, customer_client, tee_sizes, available
):
    order = place(("TEE-M", 1))  # 2000 + 499, captured at dispatch
    delivered(order)
    rma_number = dearer_exchange_received(order, customer_client)

    settle(order, rma_number)
    settle(order, rma_number)  # ReturnReceived delivered again: settled once

    order.refresh_from_db()
    assert order.captured_minor == 2499 + 200
    charges = [(p.purpose, p.amount_minor, p.captured_minor) for p in order.payments.order_by("id")]
    assert charges == [("checkout", 2499, 2499), ("exchange", 200, 200)]
    at_payments = sorted(
        (p.status, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)
    )
    assert at_payments == [("captured", 200), ("captured", 2499)]
    assert [[line.sku for line in s.lines] for s in exchange_parcels(order)] == [["TEE-XL"]]
    assert shipping_selectors.return_get(rma_number=rma_number).status == "exchanged"
    assert available("TEE-XL") == 1


def test_a_declined_difference_releases_the_replacement_and_refunds_the_return(
    place, customer_client, tee_sizes, available
):
    order = place(("TEE-M", 1))
    delivered(order)
    rma_number = dearer_exchange_received(order, customer_client)
    Order.objects.filter(pk=order.pk).update(payment_method="pm_card_chargeDeclined")  # the card was cancelled

    settle(order, rma_number)

    rma = shipping_selectors.return_get(rma_number=rma_number)
    assert (rma.status, rma.decision, rma.refund_minor, rma.exchange_charge_minor) == ("refunded", "refund", 2000, 0)
    assert exchange_parcels(order) == []
    assert available("TEE-XL") == 2  # released, on sale again
    order.refresh_from_db()
    assert (order.captured_minor, order.refunded_minor) == (2499, 2000)
