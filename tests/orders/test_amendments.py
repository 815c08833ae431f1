"""Amendments re-quote shipping for the new contents and may add a SKU (reserved all or nothing)."""

from __future__ import annotations

import pytest

from flowmart.events.models import OutboxEvent
from flowmart.events.testing import deliver_pending
from orders.models import Order
from payments.selectors import payments_for_reference
from shipping.models import Shipment

pytestmark = pytest.mark.django_db


def _amend(client, order, **body):
    return client.post(f"/api/v1/orders/{order.number}/amend/", body, format="json")


def test_adding_a_new_sku_reserves_it_and_re_quotes_shipping_for_the_weight(place, customer_client, available):
    order = place(("TEE-M", 1), shipping_method="express")  # 2000 + express up to 1 kg 1499
    assert order.total_minor == 3499

    r = _amend(customer_client, order, lines=[{"sku": "MUG", "quantity": 3}])

    assert r.status_code == 200, r.json()
    assert [(line["sku"], line["quantity"]) for line in r.json()["lines"]] == [("TEE-M", 1), ("MUG", 3)]
    # 200 g + 3 × 300 g = 1.1 kg: the express band up to 5 kg, $19.99 (no free shipping on express).
    assert (r.json()["totals"]["subtotal_minor"], r.json()["totals"]["shipping_minor"]) == (5750, 1999)
    assert r.json()["totals"]["total_minor"] == 7749
    mug = Order.objects.get(pk=order.pk).lines.get(sku="MUG")
    assert (mug.name, mug.unit_price_minor, mug.weight_grams, mug.line_total_minor) == ("Mug", 1250, 300, 3750)
    assert available("MUG") == 2
    assert sorted(p.amount_minor for p in payments_for_reference(reference=order.payment_reference)) == [3499, 4250]
    amended = OutboxEvent.objects.get(correlation_id=order.number, name="OrderAmended").payload
    assert amended["changes"] == ["Mug: added 3", "shipping 1499 → 1999"]
    deliver_pending()  # shipping puts the mugs on the parcels (the west warehouse's mug gets its own)
    parcels = {
        (line.sku, line.quantity) for s in Shipment.objects.filter(order_number=order.number) for line in s.lines.all()
    }
    assert sum(q for sku, q in parcels if sku == "MUG") == 3


def test_adding_a_sku_beyond_stock_changes_nothing(place, customer_client, available):
    order = place(("TEE-M", 1))

    r = _amend(customer_client, order, lines=[{"sku": "TEE-M", "quantity": 2}, {"sku": "MUG", "quantity": 6}])

    assert (r.status_code, r.json()["code"]) == (409, "insufficient_stock")
    order.refresh_from_db()
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-M", 1)]
    assert (order.total_minor, available("TEE-M"), available("MUG")) == (2499, 4, 5)


def test_adding_an_unknown_sku_is_400(place, customer_client):
    order = place(("TEE-M", 1))
    r = _amend(customer_client, order, lines=[{"sku": "NOPE", "quantity": 1}])
    assert (r.status_code, r.json()["code"]) == (400, "unknown_line")


def test_raising_a_quantity_over_the_free_shipping_threshold_makes_shipping_free(place, customer_client):
    order = place(("TEE-M", 2))  # 4000 + 499
    r = _amend(customer_client, order, lines=[{"sku": "TEE-M", "quantity": 3}])
    assert r.status_code == 200, r.json()
    assert (r.json()["totals"]["shipping_minor"], r.json()["totals"]["total_minor"]) == (0, 6000)
