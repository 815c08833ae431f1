"""Every failure path of the saga ends consistent: crash mid-way, shipping refusal, concurrency, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from flowmart.events.testing import deliver_pending
from orders import saga, services
from orders.models import Order
from payments.selectors import payments_for_reference

pytestmark = pytest.mark.django_db


def _fill(client, *lines):
    for sku, qty in lines:
        assert client.post("/api/v1/basket/lines/", {"sku": sku, "quantity": qty}, format="json").status_code == 201


def _payment_statuses(order):
    return sorted(p.status for p in payments_for_reference(reference=f"order:{order.number}"))


def test_crash_after_reserving_is_resumed_by_the_sweeper(customer_client, shop, checkout_body, available, monkeypatch):
    _fill(customer_client, ("TEE-M", 2))

    def killed(order):
        raise SystemExit("worker killed between steps")

    monkeypatch.setattr(saga, "_step_authorize", killed)
    with pytest.raises(SystemExit):
        customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    order = Order.objects.get()
    assert (order.status, order.saga_status, order.stock_reserved) == ("pending", "running", True)
    assert available("TEE-M") == 3
    monkeypatch.undo()

    assert services.sagas_sweep() == 0  # the lease is still held by the (dead) process
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert services.sagas_sweep() == 1

    order.refresh_from_db()
    assert (order.status, order.saga_status) == ("confirmed", "completed")
    assert _payment_statuses(order) == ["authorized"]
    assert available("TEE-M") == 3
    assert customer_client.get("/api/v1/basket/").json()["lines"] == []


def test_crash_that_keeps_failing_is_compensated(customer_client, shop, checkout_body, available, monkeypatch):
    _fill(customer_client, ("MUG", 1))

    def broken(order):
        with saga.step(order, "authorize_payment"):
            raise RuntimeError("gateway client bug")

    monkeypatch.setattr(saga, "_step_authorize", broken)
    assert customer_client.post("/api/v1/checkout/", checkout_body(), format="json").status_code == 500
    for minutes in range(5, 40, 5):
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
            services.sagas_sweep()

    order = Order.objects.get()
    assert (order.status, order.saga_status) == ("failed", "compensated")
    assert available("MUG") == 5
    assert order.transitions.last().to_state == "failed"


def test_shipping_refusal_voids_releases_and_cancels(customer_client, shop, checkout_body, available):
    _fill(customer_client, ("TEE-M", 1))
    r = customer_client.post(
        "/api/v1/checkout/",
        checkout_body(shipping_address={**checkout_body()["shipping_address"]}),
        format="json",
    )
    order = Order.objects.get(number=r.json()["number"])
    from django.db import transaction

    from flowmart.events.publisher import publish
    from shipping.events import ShipmentRejected

    with transaction.atomic():
        publish(
            ShipmentRejected(
                correlation_id=order.number,
                order_number=order.number,
                user_id=None,
                customer_email=order.email,
                shipment_number="",
                code="label_refused",
                reason="carrier refused the label",
            )
        )
    deliver_pending()
    # The handler queued the compensation task; run it the way the worker would.
    services.order_compensate(order=order)

    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.compensation_reason == "shipping refused: carrier refused the label"
    assert _payment_statuses(order) == ["voided"]
    assert available("TEE-M") == 5


def test_gateway_timeout_then_retry_charges_once(customer_client, shop, checkout_body):
    """The sandbox does the work but 'loses' the answer; payments retries with the same key."""
    _fill(customer_client, ("TEE-M", 1))
    r = customer_client.post(
        "/api/v1/checkout/",
        checkout_body(payment_method="pm_card_sandboxTimeout"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="slow",
    )
    assert r.status_code in (201, 503)
    replay = customer_client.post(
        "/api/v1/checkout/",
        checkout_body(payment_method="pm_card_sandboxTimeout"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="slow",
    )
    if r.status_code == 201:
        assert replay.json()["number"] == r.json()["number"]
    live = [o for o in Order.objects.all() if o.status == "confirmed"]
    assert len(live) <= 1
    for order in Order.objects.all():
        authorized = [p for p in payments_for_reference(reference=f"order:{order.number}") if p.status == "authorized"]
        assert len(authorized) == (1 if order.status == "confirmed" else 0)


def test_payment_retry_window_expires_cancels_and_releases(customer_client, shop, checkout_body, available):
    _fill(customer_client, ("TEE-M", 2))
    r = customer_client.post("/api/v1/checkout/", checkout_body(payment_method="pm_card_chargeDeclined"), format="json")
    assert r.status_code == 402
    order = Order.objects.get(number=r.json()["order_number"])
    assert available("TEE-M") == 3

    assert services.payment_retries_expire() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert services.payment_retries_expire() == 1
        order.refresh_from_db()
        assert not order.can_retry_payment()

    assert (order.status, order.compensation_reason) == ("cancelled", "payment was not completed in time")
    assert available("TEE-M") == 5
    # The basket is still there to try again.
    assert [line["quantity"] for line in customer_client.get("/api/v1/basket/").json()["lines"]] == [2]


def test_new_checkout_replaces_a_declined_order(customer_client, shop, checkout_body, available):
    _fill(customer_client, ("TEE-M", 2))
    declined = customer_client.post(
        "/api/v1/checkout/", checkout_body(payment_method="pm_card_chargeDeclined"), format="json"
    ).json()
    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert r.status_code == 201
    assert Order.objects.get(number=declined["order_number"]).status == "cancelled"
    assert available("TEE-M") == 3


def test_compensation_interrupted_after_the_void_is_finished_by_the_sweeper(
    customer_client, shop, checkout_body, available, monkeypatch
):
    _fill(customer_client, ("TEE-M", 2))
    order = Order.objects.get(
        number=customer_client.post("/api/v1/checkout/", checkout_body(), format="json").json()["number"]
    )

    def killed(**kwargs):
        raise SystemExit("killed before releasing the stock")

    monkeypatch.setattr(saga.inventory_services, "stock_release", killed)
    with pytest.raises(SystemExit):
        services.order_cancel(order=order, actor="customer", reason="changed my mind")
    monkeypatch.undo()
    order.refresh_from_db()
    assert (order.status, order.saga_status) == ("confirmed", "compensating")
    assert _payment_statuses(order) == ["voided"]
    assert available("TEE-M") == 3

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert services.sagas_sweep() == 1

    order.refresh_from_db()
    assert (order.status, order.saga_status, order.compensation_reason) == (
        "cancelled",
        "compensated",
        "changed my mind",
    )
    assert available("TEE-M") == 5
    assert _payment_statuses(order) == ["voided"]


def test_beat_tasks_are_scheduled_and_run_the_sweeps(settings, customer_client, shop, checkout_body, monkeypatch):
    from orders.tasks import expire_payment_retries_task, sweep_stuck_sagas_task

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"orders.tasks.sweep_stuck_sagas_task", "orders.tasks.expire_payment_retries_task"} <= schedule

    _fill(customer_client, ("MUG", 1))
    monkeypatch.setattr(saga, "_step_authorize", lambda order: (_ for _ in ()).throw(RuntimeError("killed")))
    customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert sweep_stuck_sagas_task() == 1
        assert expire_payment_retries_task() == 0
    assert Order.objects.get().status == "confirmed"


def test_authorization_the_saga_never_recorded_is_voided_on_compensation(
    customer_client, shop, checkout_body, available, monkeypatch
):
    """The process died after the gateway authorized but before the order recorded it."""
    from payments import services as payment_services

    _fill(customer_client, ("TEE-M", 1))

    def authorize_then_die(order):
        payment_services.payment_authorize(
            payment_services.PaymentRequest(
                reference=order.payment_reference,
                amount_minor=order.total_minor,
                currency=order.currency,
                payment_method=order.payment_method,
                idempotency_key=f"{order.number}:authorize:{order.payment_round}",
            )
        )
        raise SystemExit("killed after the gateway answered")

    monkeypatch.setattr(saga, "_step_authorize", authorize_then_die)
    with pytest.raises(SystemExit):
        customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    monkeypatch.undo()
    order = Order.objects.get()
    assert _payment_statuses(order) == ["authorized"]

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.order_cancel(order=order, actor="customer", reason="gave up waiting")

    order.refresh_from_db()
    assert (order.status, order.saga_status) == ("cancelled", "compensated")
    assert _payment_statuses(order) == ["voided"]
    assert available("TEE-M") == 5


def test_a_race_lost_at_the_reservation_leaves_no_order_and_the_basket_intact(customer, shop, available):
    """The review page priced the basket with four tees free; someone took three before the order was written.
    The stock is reserved in the order's own transaction, so the order goes with the reservation that failed."""
    from inventory.services import StockLine, stock_reserve
    from orders.errors import CheckoutStockShortage
    from tests.orders.conftest import ADDRESS

    basket = services.basket_get_or_create(user=customer)
    services.basket_line_add(basket=basket, sku="TEE-M", quantity=4)
    basket.refresh_from_db()  # the version the review page sees
    preview = services.checkout_preview(
        basket=basket, user=customer, shipping_address=dict(ADDRESS), shipping_method="standard"
    )
    stock_reserve(reference="FM-ELSEWHERE", lines=[StockLine(sku="TEE-M", quantity=3)])
    details = services.CheckoutDetails(
        shipping_address=dict(ADDRESS), shipping_method="standard", payment_method="pm_card_visa"
    )

    with pytest.raises(CheckoutStockShortage) as refused:
        services.checkout_place(basket=basket, user=customer, details=details, preview=preview)

    assert refused.value.extra["shortages"] == [{"sku": "TEE-M", "requested": 4, "available": 2}]
    assert Order.objects.count() == 0
    assert available("TEE-M") == 2
    assert [(line.sku, line.quantity) for line in basket.lines.all()] == [("TEE-M", 4)]
