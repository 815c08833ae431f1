"""Checkout through the API: the happy path, failures with the basket intact, idempotency."""

from __future__ import annotations

import pytest

from flowmart.events.models import OutboxEvent
from orders.models import Order, SagaStep
from payments.selectors import payments_for_reference

pytestmark = pytest.mark.django_db


def _fill(client, *lines):
    for sku, qty in lines:
        r = client.post("/api/v1/basket/lines/", {"sku": sku, "quantity": qty}, format="json")
        assert r.status_code == 201, r.json()
    return r.json()


def test_customer_checks_out_and_gets_a_confirmed_order(customer_client, shop, checkout_body, available):
    basket = _fill(customer_client, ("TEE-M", 2), ("MUG", 1))
    assert basket["subtotal_minor"] == 2 * 2000 + 1250

    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["number"].startswith("FM-") and len(body["number"]) == 11
    assert body["status"] == "confirmed"
    assert body["totals"] == {
        "currency": "USD",
        "subtotal_minor": 5250,
        "discount_minor": 0,
        "shipping_minor": 0,  # US standard is free over $50.00
        "total_minor": 5250,
        "refunded_minor": 0,
        "refund_pending_minor": 0,
    }
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("TEE-M", 2), ("MUG", 1)]
    order = Order.objects.get(number=body["number"])
    assert available("TEE-M") == 3 and available("MUG") == 4
    [payment] = payments_for_reference(reference=f"order:{order.number}")
    assert (payment.status, payment.amount_minor) == ("authorized", 5250)
    assert [s.step for s in SagaStep.objects.filter(order=order)] == [
        "validate",
        "create_order",
        "reserve_stock",
        "authorize_payment",
        "confirm",
    ]
    assert customer_client.get("/api/v1/basket/").json()["lines"] == []
    names = list(
        OutboxEvent.objects.filter(correlation_id=order.number, producer="orders")
        .order_by("occurred_at", "created_at")
        .values_list("name", flat=True)
    )
    assert names == ["UserCheckedOut", "OrderPlaced", "OrderConfirmed"]
    confirmed = OutboxEvent.objects.get(correlation_id=order.number, name="OrderConfirmed").payload
    assert confirmed["lines"][0]["allocations"] == [{"warehouse_code": "east", "quantity": 2}]
    assert confirmed["total_minor"] == 5250


def test_small_order_pays_shipping(customer_client, shop, checkout_body):
    _fill(customer_client, ("MUG", 1))
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert r.status_code == 201
    assert r.json()["totals"]["shipping_minor"] == 499
    assert r.json()["totals"]["total_minor"] == 1250 + 499


def test_decline_is_402_with_basket_intact(customer_client, shop, checkout_body, available):
    _fill(customer_client, ("TEE-M", 1))

    r = customer_client.post(
        "/api/v1/checkout/", checkout_body(payment_method="pm_card_chargeDeclinedInsufficientFunds"), format="json"
    )

    assert r.status_code == 402
    body = r.json()
    assert body["code"] == "payment_declined"
    assert body["decline_code"] == "insufficient_funds"
    order = Order.objects.get(number=body["order_number"])
    assert order.status == "payment_failed"
    assert available("TEE-M") == 4  # held for the retry window
    assert [line["sku"] for line in customer_client.get("/api/v1/basket/").json()["lines"]] == ["TEE-M"]

    # The customer retries with another card: the same order is confirmed.
    r = customer_client.post(
        f"/api/v1/orders/{order.number}/payment/", {"payment_method": "pm_card_visa"}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "confirmed"
    assert available("TEE-M") == 4
    assert customer_client.get("/api/v1/basket/").json()["lines"] == []


def test_stock_shortage_is_409_and_compensated(customer_client, other_customer, shop, checkout_body, available):
    _fill(customer_client, ("TEE-M", 4))
    # Someone else buys 3 of the 5 tees meanwhile.
    from inventory.allocation import StockLine
    from inventory.services import stock_reserve

    stock_reserve(reference="order:elsewhere", lines=[StockLine(sku="TEE-M", quantity=3)])

    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")

    assert r.status_code == 409
    assert r.json()["code"] == "insufficient_stock"
    assert r.json()["shortages"] == [{"sku": "TEE-M", "requested": 4, "available": 2}]
    assert available("TEE-M") == 2
    assert [line["quantity"] for line in customer_client.get("/api/v1/basket/").json()["lines"]] == [4]
    assert not Order.objects.filter(status="confirmed").exists()


def test_gateway_down_is_503_nothing_charged(customer_client, shop, checkout_body, available):
    _fill(customer_client, ("TEE-M", 1))
    r = customer_client.post(
        "/api/v1/checkout/", checkout_body(payment_method="pm_card_sandboxUnavailable"), format="json"
    )
    assert r.status_code == 503
    assert r.json()["code"] == "gateway_unavailable"
    order = Order.objects.get(number=r.json()["order_number"])
    assert order.status == "failed"
    assert available("TEE-M") == 5
    assert [
        p.status for p in payments_for_reference(reference=f"order:{order.number}") if p.status == "authorized"
    ] == []
    assert len(customer_client.get("/api/v1/basket/").json()["lines"]) == 1


def test_retry_with_same_key_replays_one_order_one_charge(customer_client, shop, checkout_body):
    _fill(customer_client, ("TEE-M", 1))
    first = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    again = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["number"] == again.json()["number"]
    assert Order.objects.count() == 1
    assert len(payments_for_reference(reference=f"order:{first.json()['number']}")) == 1


def test_guest_checkout_needs_an_email(api_client, shop, checkout_body):
    _fill(api_client, ("MUG", 2))
    r = api_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "checkout_invalid"
    r = api_client.post("/api/v1/checkout/", checkout_body(email="guest@example.com"), format="json")
    assert r.status_code == 201
    number = r.json()["number"]
    assert Order.objects.get(number=number).email == "guest@example.com"
    assert api_client.get(f"/api/v1/orders/{number}/").status_code == 200


def test_empty_basket_and_bad_input_are_400(customer_client, shop, checkout_body):
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert (r.status_code, r.json()["code"]) == (400, "basket_empty")
    _fill(customer_client, ("MUG", 1))
    r = customer_client.post("/api/v1/checkout/", {"shipping_method": "standard"}, format="json")
    assert r.status_code == 400
    assert "shipping_address" in r.json()["errors"]
    r = customer_client.post("/api/v1/checkout/", checkout_body(shipping_method="teleport"), format="json")
    assert (r.status_code, r.json()["code"]) == (400, "shipping_method_unavailable")
    assert Order.objects.count() == 0


def test_declined_guest_can_retry_the_payment_of_their_order(api_client, shop, checkout_body):
    api_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    r = api_client.post(
        "/api/v1/checkout/",
        checkout_body(email="guest@example.com", payment_method="pm_card_chargeDeclined"),
        format="json",
    )
    assert r.status_code == 402
    number = r.json()["order_number"]
    assert api_client.get(f"/api/v1/orders/{number}/").json()["actions"] == ["cancel", "retry_payment"]
    r = api_client.post(f"/api/v1/orders/{number}/payment/", {"payment_method": "pm_card_visa"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "confirmed")


def test_checkout_while_the_same_basket_is_mid_saga_is_409_with_the_order(customer_client, shop, checkout_body):
    from orders import saga

    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    original = saga._step_authorize
    saga._step_authorize = lambda order: (_ for _ in ()).throw(RuntimeError("process dies"))
    try:
        assert customer_client.post("/api/v1/checkout/", checkout_body(), format="json").status_code == 500
    finally:
        saga._step_authorize = original
    pending = Order.objects.get()

    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="again")

    assert (r.status_code, r.json()["code"], r.json()["order_number"]) == (409, "checkout_in_progress", pending.number)
    assert Order.objects.count() == 1


def test_a_card_number_is_refused_before_any_order_and_never_stored(customer_client, shop, checkout_body):
    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    r = customer_client.post("/api/v1/checkout/", checkout_body(payment_method="4242 4242 4242 4242"), format="json")
    assert (r.status_code, r.json()["code"]) == (400, "invalid_payment_method")
    assert "4242 4242" not in r.content.decode()
    assert Order.objects.count() == 0


def test_saga_steps_and_checkouts_are_counted_for_prometheus(customer_client, shop, checkout_body):
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    before_ok = value("flowmart_orders_checkouts_total", outcome="confirmed")
    before_steps = value("flowmart_orders_saga_steps_total", step="authorize_payment", status="succeeded")
    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    assert customer_client.post("/api/v1/checkout/", checkout_body(), format="json").status_code == 201
    assert value("flowmart_orders_checkouts_total", outcome="confirmed") == before_ok + 1
    assert value("flowmart_orders_saga_steps_total", step="authorize_payment", status="succeeded") == before_steps + 1


def test_a_retry_after_a_503_with_the_same_key_checks_out_again_once_the_gateway_is_back(
    customer_client, shop, checkout_body, monkeypatch
):
    from payments.gateways.base import GatewayServerError
    from payments.gateways.sandbox import SandboxGateway

    _fill(customer_client, ("MUG", 1))
    real_authorize = SandboxGateway.authorize

    def down(self, **kwargs):
        raise GatewayServerError("sandbox down")

    monkeypatch.setattr(SandboxGateway, "authorize", down)
    first = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="k503")
    monkeypatch.setattr(SandboxGateway, "authorize", real_authorize)
    retry = customer_client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="k503")

    assert (first.status_code, first.json()["code"]) == (503, "gateway_unavailable")
    assert (retry.status_code, retry.json()["status"]) == (201, "confirmed")
    assert sorted(Order.objects.values_list("status", flat=True)) == ["confirmed", "failed"]
