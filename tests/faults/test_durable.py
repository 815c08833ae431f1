"""Issue 12, items 4, 8 and 9, with the fault injected for real (docs/architecture.md §Tasks, §Events, §Saga).

* Follow-up work survives the broker going away between the handler's commit and the enqueue: a Redis of the
  test's own is stopped right there, brought back empty, and the refund happens exactly once.
* The redelivery sweep does not queue again what already waits in the broker.
* A checkout process SIGKILLed inside the gateway call is finished by the sweeper's first run after its lease,
  and the step it was running is closed as ``abandoned``.
* A declined card holds stock only for ``ORDERS_DECLINE_HOLD_MINUTES``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from flowmart.events.models import OutboxEvent
from flowmart.events.publisher import publish
from flowmart.events.tasks import redeliver_events_task
from flowmart.events.testing import broker_at, deliver_pending
from inventory.selectors import available_quantity
from orders import services
from orders.models import Basket, Order, OrderRefund, SagaStep
from orders.tasks import expire_payment_retries_task
from payments.models import Payment, SandboxCharge, SandboxRequest
from shipping import selectors as shipping_selectors
from tests.faults.processes_durable import PrivateRedis, StalledCheckout, Worker
from tests.orders import conftest as orders_fixtures
from tests.orders.shipping_steps import order_ship, return_received
from tests.testapp.events import SpineProbe

# The orders tests' shop (TEE-M ×5 in east, MUG), checkout body and stock lookup.
shop = orders_fixtures.shop
checkout_body = orders_fixtures.checkout_body
available = orders_fixtures.available

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    try:
        with broker_at(server.broker_url):
            yield server
    finally:
        server.stop()


def _returned_order(client, checkout_body, customer):
    """An order of two tees, dispatched, captured and delivered, with one tee back at the warehouse
    (``ReturnReceived`` committed, its handler not run yet)."""
    assert client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json").status_code == 201
    response = client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-return")
    assert response.status_code == 201, response.json()
    deliver_pending()
    order = Order.objects.get(number=response.json()["number"])
    shipment_number = order_ship(order)
    rma = return_received(order, customer, shipment_number, reason="too small", decision="refund")
    order.refresh_from_db()
    assert order.captured_minor == order.total_minor
    return order, rma


def test_a_return_refund_survives_the_broker_going_down_between_commit_and_enqueue(
    private_redis, shop, checkout_body, customer, customer_client, wait_until
):
    order, rma = _returned_order(customer_client, checkout_body, customer)
    private_redis.client().flushdb()  # the set-up's own messages: this test drains only what follows

    private_redis.stop()
    deliver_pending()  # ReturnReceived → orders' handler commits; sending its follow-up fails: no broker
    order.refresh_from_db()
    assert order.refunded_minor == 0

    private_redis.start()  # back, and empty, as after a restart
    redeliver_events_task()  # beat's next run
    with Worker(private_redis.broker_url):
        wait_until(
            lambda: Order.objects.get(pk=order.pk).refunded_minor == 2000, timeout=45, message="the return refund"
        )
        # Copies arrive (a sweep after the visibility timeout, at-least-once delivery): nothing moves twice.
        redeliver_events_task(older_than_seconds=0)
        redeliver_events_task(older_than_seconds=0)
        wait_until(lambda: private_redis.queued() == 0, timeout=30, message="the worker to drain the queue")

    order.refresh_from_db()
    assert order.refunded_minor == 2000
    assert list(OrderRefund.objects.filter(order=order).values_list("amount_minor", "status")) == [(2000, "succeeded")]
    [payment] = Payment.objects.filter(reference=order.payment_reference)
    assert [(r.amount_minor, r.status) for r in payment.refunds.all()] == [(2000, "succeeded")]
    # The gateway's own books: one refund request, 20.00 back on the charge.
    assert SandboxRequest.objects.filter(operation="refund").count() == 1
    assert SandboxCharge.objects.get().refunded_minor == 2000
    assert shipping_selectors.return_get(rma_number=rma.rma_number).status == "refunded"
    assert available_quantity(sku="TEE-M") == 4  # 5 - 2 sold + 1 back, once


def _probes(count: int) -> None:
    for _ in range(count):
        with transaction.atomic():
            publish(SpineProbe(correlation_id="probe:storm", key=uuid.uuid4().hex[:12], behaviour="ok"))


def test_the_redelivery_sweep_does_not_queue_again_what_waits_in_the_broker(private_redis, settings):
    settings.EVENTS_RELAY_WAITING_SECONDS = 600  # the waiting relay's mark outlasts the test, however slow the machine
    private_redis.stop()
    _probes(1)  # committed while the broker is down: its dispatch fails to send
    private_redis.start()
    _probes(20)  # the first sends a relay task; no worker yet, so it waits in the queue for all 20
    assert private_redis.queued() == 1
    now = timezone.now()

    with time_machine.travel(now + timedelta(seconds=31), tick=False):  # beat: every 30 s
        assert redeliver_events_task()["undispatched"] == 1  # only the one whose send failed
    assert private_redis.queued() == 2

    # Still no worker: the next runs leave the waiting messages be, within the visibility timeout.
    for runs in (2, 3):
        with time_machine.travel(now + timedelta(seconds=31 * runs), tick=False):
            assert redeliver_events_task()["undispatched"] == 0
    assert private_redis.queued() == 2

    # The messages are lost (Redis restarted empty): sent again once the visibility timeout passed.
    private_redis.client().flushdb()
    later = now + timedelta(seconds=31 + settings.EVENTS_REDELIVER_AFTER_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert redeliver_events_task()["undispatched"] == 21
    assert private_redis.queued() == 21
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 21


def test_a_checkout_killed_inside_the_gateway_call_is_finished_by_the_next_sweep_after_its_lease(
    shop, customer, customer_client, available
):
    # The mechanism behind "within 30 s of the fault": the lease runs out, then the sweep runs.
    sweep_period = settings.CELERY_BEAT_SCHEDULE["orders-sweep-stuck-sagas"]["schedule"]
    assert settings.ORDERS_SAGA_LEASE_SECONDS + sweep_period <= 30

    assert customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}).status_code == 201
    basket = Basket.objects.get(user=customer)
    checkout = StalledCheckout(basket_id=basket.pk, user_id=customer.pk)
    checkout.wait_in_authorize()
    checkout.kill()  # SIGKILL: no except, no finally, no rollback of what was committed

    order = Order.objects.get(user=customer)
    assert (order.status, order.saga_status) == ("pending", "running")
    assert order.saga_steps.get(step="authorize_payment").status == "running"
    lease_end = order.saga_lease_until
    assert lease_end <= timezone.now() + timedelta(seconds=settings.ORDERS_SAGA_LEASE_SECONDS)

    with time_machine.travel(lease_end - timedelta(seconds=1), tick=False):
        assert services.sagas_sweep() == 0  # the process might still be alive: hands off
    with time_machine.travel(lease_end + timedelta(seconds=1), tick=False):
        assert services.sagas_sweep() == 1  # the first run after the lease takes over

    order.refresh_from_db()
    assert (order.status, order.saga_status) == ("confirmed", "completed")
    assert list(order.saga_steps.filter(step="authorize_payment").values_list("status", "error_code")) == [
        (SagaStep.Status.ABANDONED, "abandoned"),
        (SagaStep.Status.SUCCEEDED, ""),
    ]
    assert not order.saga_steps.filter(status=SagaStep.Status.RUNNING).exists()
    # One authorization of the total at the gateway, stock taken once.
    assert [(c.status, c.amount_minor) for c in SandboxCharge.objects.all()] == [("authorized", order.total_minor)]
    assert available("TEE-M") == 3


def _guest(sku: str, quantity: int) -> APIClient:
    client = APIClient()
    assert client.post("/api/v1/basket/lines/", {"sku": sku, "quantity": quantity}, format="json").status_code == 201
    return client


def _checkout(client, checkout_body, payment_method: str, key: str):
    body = checkout_body(email=f"{key}@example.com", payment_method=payment_method)
    return client.post("/api/v1/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_declined_checkouts_hold_the_last_units_only_for_the_short_window(shop, checkout_body, available):
    payer = _guest("TEE-M", 1)  # has a tee in the basket, checks out a little later
    decliners = [_guest("TEE-M", 2), _guest("TEE-M", 2), _guest("TEE-M", 1)]
    declined = []
    for n, client in enumerate(decliners):
        response = _checkout(client, checkout_body, "pm_card_chargeDeclined", f"decline-{n}")
        assert response.status_code == 402, response.json()
        declined.append(response.json()["order_number"])
    assert available("TEE-M") == 0

    # Inside the hold the declined customers keep their units: the payer is told the truth.
    response = _checkout(payer, checkout_body, "pm_card_visa", "payer-early")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"

    # The hold ends long before the retry window does: the sweep gives the stock back.
    after_hold = timezone.now() + timedelta(minutes=settings.ORDERS_DECLINE_HOLD_MINUTES, seconds=1)
    with time_machine.travel(after_hold, tick=False):
        expire_payment_retries_task()
        assert available("TEE-M") == 5
        assert [Order.objects.get(number=n).status for n in declined] == ["payment_failed"] * 3

        response = _checkout(payer, checkout_body, "pm_card_visa", "payer")
        assert response.status_code == 201, response.json()
        assert response.json()["status"] == "confirmed"

        # Declined customers keep their retry link; a retry reserves again while stock lasts...
        outcomes = []
        for number, client in zip(declined, decliners, strict=True):
            retry = client.post(
                f"/api/v1/orders/{number}/payment/",
                {"payment_method": "pm_card_visa"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"retry-{number}",
            )
            outcomes.append((retry.status_code, retry.json().get("code") or retry.json().get("status")))
    # ...and the one who comes too late is told it is out of stock, which is now the truth.
    assert outcomes == [(200, "confirmed"), (200, "confirmed"), (409, "insufficient_stock")]
    assert available("TEE-M") == 0
