"""A dearer exchange's payment whose gateway answer is lost, and whose worker is killed (docs/orders.md §Returns
and exchanges): the customer is charged the difference exactly once and the exchange ends shipped, not refunded.

The return's settlement (``order_return_settle_task``, a command) runs on a real Celery worker against the Stripe
stand-in, which does the work and drops the connection before answering (the first answer of the exchange
payment's ``authorize``, or of its ``capture``). The worker waits to ask again (``PAYMENTS_GATEWAY_BACKOFF_SECONDS``
= 60) and is SIGKILLed there. The recovery is the real one: beat's sweeps (payments' resume and stray-hold sweeps,
in either order with the command's) and ``redeliver_events_task``, which sends the command again once the dead
worker's claim ran out, to a new worker.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from flowmart.events.commands import command_run
from flowmart.events.models import Command
from flowmart.events.tasks import redeliver_events_task
from flowmart.events.testing import broker_at, deliver_and_run_commands, deliver_pending
from inventory import services as inventory_services
from orders.models import Order, OrderRefund
from payments import services as payment_services
from payments.models import Payment
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services
from shipping.models import Shipment
from tests.faults.processes_durable import PrivateRedis, Worker
from tests.inventory.factories import VariantFactory
from tests.orders import conftest as orders_fixtures
from tests.orders.order_books import stock_ledger_problems
from tests.orders.shipping_steps import order_ship
from tests.payments.stripe_standin import StripeStandIn
from tests.polling import wait_for

shop = orders_fixtures.shop
checkout_body = orders_fixtures.checkout_body
available = orders_fixtures.available

pytestmark = pytest.mark.django_db(transaction=True)

STRIPE_KEY = "sk_test_standin"


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    try:
        with broker_at(server.broker_url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def stripe(settings):
    with StripeStandIn() as standin:
        settings.PAYMENTS_GATEWAY = "stripe"
        settings.STRIPE_API_BASE = standin.url
        settings.STRIPE_API_KEY = STRIPE_KEY
        settings.STRIPE_TIMEOUT_SECONDS = 5
        yield standin


def _worker_env(stripe, **extra: str) -> dict[str, str]:
    return {
        "PAYMENTS_GATEWAY": "stripe",
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_API_KEY": STRIPE_KEY,
        "STRIPE_TIMEOUT_SECONDS": "5",
        **extra,
    }


@pytest.fixture
def dearer_exchange_received(shop, customer_client, checkout_body, stripe, private_redis):
    """A tee bought (2000 + 499 shipping, captured at Stripe) and delivered, returned for the XL at 2200: received,
    the settlement command recorded and nothing else left to run. (order, rma number, command)"""
    VariantFactory(sku="TEE-XL", price_minor=2200, weight_grams=200, product=shop["TEE-M"].product)
    inventory_services.stock_receive(sku="TEE-XL", warehouse_code="east", quantity=2, reference="initial")
    assert customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}).status_code == 201
    response = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")
    assert response.status_code == 201, response.json()
    deliver_pending()
    order = Order.objects.get(number=response.json()["number"])
    Shipment.objects.filter(number=order_ship(order)).update(status="delivered", delivered_at=timezone.now())
    deliver_and_run_commands()
    response = customer_client.post(
        f"/api/v1/orders/{order.number}/exchanges/",
        {"reason": "too tight", "lines": [{"sku": "TEE-M", "quantity": 1, "replacement_sku": "TEE-XL"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    rma_number = response.json()["rma_number"]
    shipping_services.return_approve(rma_number=rma_number)
    shipping_services.return_receive(rma_number=rma_number, decision="exchange")
    deliver_pending()  # orders' handler records the settlement as a command
    command = Command.objects.get(task_name="orders.tasks.order_return_settle_task")
    private_redis.client().flushdb()  # the set-up's messages: only open work is sent below
    return order, rma_number, command


def _exchange_intent(stripe) -> dict | None:
    return next((i for i in stripe.intents.values() if i["amount"] == 200), None)


@pytest.mark.parametrize(
    ("lost_answer", "payments_sweeps_first"),
    [("authorize", False), ("authorize", True), ("capture", True)],
    ids=["authorized-then-killed", "authorized-then-killed-payments-sweeps-first", "captured-then-killed"],
)
def test_a_dearer_exchange_whose_answer_was_lost_and_worker_killed_is_charged_once_and_ships(
    lost_answer, payments_sweeps_first, dearer_exchange_received, stripe, private_redis, available
):
    order, rma_number, command = dearer_exchange_received
    stripe.drop_first_response_of = {lost_answer}  # Stripe does the work; the answer never arrives
    assert redeliver_events_task(older_than_seconds=0)["commands"] == 1

    killed = Worker(
        private_redis.broker_url,
        **_worker_env(stripe, PAYMENTS_GATEWAY_BACKOFF_SECONDS="60", EVENTS_COMMAND_LEASE_SECONDS="2"),
    )
    with killed:
        done_at_stripe = "requires_capture" if lost_answer == "authorize" else "succeeded"
        wait_for(
            lambda: (_exchange_intent(stripe) or {}).get("status") == done_at_stripe,
            timeout=90,
            what=f"Stripe to {lost_answer} the difference",
        )
        killed.kill()  # while it waits to ask Stripe again

    payment = Payment.objects.get(idempotency_key=f"{order.number}:exchange:{rma_number}")
    assert payment.status == ("pending" if lost_answer == "authorize" else "authorized")
    assert shipping_selectors.return_get(rma_number=rma_number).status == "received"  # neither shipped nor refunded

    if payments_sweeps_first:  # beat's payment sweeps may come by before the command is sent again
        payment_services.payments_resume_stuck(older_than_minutes=0)
        assert payment_services.payments_stray_authorizations_void(older_than_minutes=0) == 0
        payment.refresh_from_db()
        assert payment.status == "authorized"
    # The dead worker's claim runs out (EVENTS_COMMAND_LEASE_SECONDS), then beat's redelivery sends it again.
    wait_for(lambda: Command.objects.get(pk=command.pk).claimed_until < timezone.now(), timeout=400, what="the claim")
    assert redeliver_events_task()["commands"] == 0  # the message may still be in the broker: not yet
    assert redeliver_events_task(older_than_seconds=0)["commands"] == 1  # past the visibility timeout
    with Worker(private_redis.broker_url, **_worker_env(stripe)):
        wait_for(lambda: Command.objects.get(pk=command.pk).status == "succeeded", timeout=90, what="the settlement")

    # Charged once: one intent for the difference, captured once, nothing refunded.
    intent = _exchange_intent(stripe)
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 200)
    assert [i["amount"] for i in stripe.intents.values()] == [order.total_minor, 200]
    assert sorted(t["amount"] for t in stripe.balance if t["reporting_category"] == "charge") == [
        200,
        order.total_minor,
    ]
    assert [t for t in stripe.balance if t["reporting_category"] == "refund"] == []
    payment.refresh_from_db()
    assert (payment.status, payment.captured_minor, payment.gateway_ref) == ("captured", 200, intent["id"])
    order.refresh_from_db()
    assert (order.captured_minor, order.refunded_minor) == (order.total_minor + 200, 0)
    assert [(p.purpose, p.captured_minor) for p in order.payments.order_by("id")] == [
        ("checkout", order.total_minor),
        ("exchange", 200),
    ]
    # Shipped, not refunded.
    assert shipping_selectors.return_get(rma_number=rma_number).status == "exchanged"
    parcels = [s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "exchange"]
    assert [[line.sku for line in s.lines] for s in parcels] == [["TEE-XL"]]
    assert not OrderRefund.objects.filter(order=order).exists()
    assert (available("TEE-M"), available("TEE-XL")) == (5, 1)  # the tee back on sale, one XL held for the parcel
    assert stock_ledger_problems() == []
    # The attempt the dead worker left is not shown running for ever.
    assert list(order.saga_steps.filter(step="charge_exchange").values_list("status", flat=True)) == [
        "abandoned",
        "succeeded",
    ]


def test_a_difference_whose_answer_was_lost_and_not_found_by_key_is_charged_by_the_commands_retry(
    dearer_exchange_received, stripe, settings, available
):
    """Every answer lost (one attempt here) and Stripe's search not seeing the new intent yet: payments fails the
    payment (``gateway_unavailable``), the stray-hold sweep voids what Stripe holds, and the command's retry must
    charge the difference afresh, not replay the failed payment of its key for ever."""
    order, rma_number, command = dearer_exchange_received
    settings.PAYMENTS_GATEWAY_MAX_ATTEMPTS = 1
    stripe.drop_first_response_of = {"authorize"}
    stripe.search_lags = True

    assert command_run(command_id=command.pk).status == "retrying"  # what the worker does with the message

    failed = Payment.objects.get(idempotency_key=f"{order.number}:exchange:{rma_number}")
    assert (failed.status, failed.decline_code) == ("failed", "gateway_unavailable")
    assert shipping_selectors.return_get(rma_number=rma_number).status == "received"
    stripe.search_catch_up()
    assert payment_services.payments_stray_authorizations_void(older_than_minutes=0) == 1  # its hold released

    stripe.drop_first_response_of = set()  # Stripe answers again
    assert command_run(command_id=command.pk).status == "succeeded"  # the retry (beat, after its back-off)

    assert [(i["amount"], i["status"], i["amount_received"]) for i in stripe.intents.values()] == [
        (order.total_minor, "succeeded", order.total_minor),
        (200, "canceled", 0),
        (200, "succeeded", 200),
    ]
    assert sorted(t["amount"] for t in stripe.balance if t["reporting_category"] == "charge") == [
        200,
        order.total_minor,
    ]
    order.refresh_from_db()
    assert (order.captured_minor, order.refunded_minor) == (order.total_minor + 200, 0)
    assert shipping_selectors.return_get(rma_number=rma_number).status == "exchanged"
    parcels = [s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "exchange"]
    assert [[line.sku for line in s.lines] for s in parcels] == [["TEE-XL"]]
    assert not OrderRefund.objects.filter(order=order).exists()
    assert (available("TEE-M"), available("TEE-XL")) == (5, 1)
    assert stock_ledger_problems() == []
