"""Money never leaks (issue #12, items 1–3), with the faults injected for real.

* a gunicorn worker SIGKILLed in the middle of the authorization (after the gateway did the work, before its
  answer was recorded);
* the web process's database connection terminated (``pg_terminate_backend`` on the test database) mid-saga;
* the gateway's answer lost on the wire after it authorized (the sandbox's ``pm_card_sandboxTimeout``, and the
  Stripe stand-in closing the connection), with Stripe's search lagging behind like the real one.

The sweeps (saga sweeper, payments' resume and stray-authorization sweeps) are run here, in the test process,
exactly as beat runs them.
"""

from __future__ import annotations

import threading

import pytest
import requests
from django.utils import timezone
from prometheus_client import REGISTRY

from inventory import services as inventory_services
from orders import services as order_services
from orders.models import Order
from orders.sweeper import sagas_sweep
from payments import services as payment_services
from payments.gateways.sandbox import TIMEOUT_TOKEN
from payments.models import Payment, SandboxCharge, StrayAuthorization
from shipping.demo import seed_demo_shipping
from tests.faults.processes_money import WebServer, terminate_other_backends, wait_for
from tests.inventory.factories import ProductFactory, VariantFactory, WarehouseFactory
from tests.payments.stripe_standin import StripeStandIn

ADDRESS = {
    "name": "Gil Guest",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}

# The worker calls the gateway, the answer is lost (timeout), and it waits this long before asking again:
# the window in which the fault is injected.
SLOW_RETRY = {"PAYMENTS_GATEWAY_MAX_ATTEMPTS": "2", "ORDERS_SAGA_LEASE_SECONDS": "1"}


@pytest.fixture
def shop(transactional_db):
    seed_demo_shipping()
    WarehouseFactory(code="east", name="East", priority=10)
    VariantFactory(sku="TEE-M", price_minor=2000, weight_grams=200, product=ProductFactory(name="Tee"))
    inventory_services.stock_receive(sku="TEE-M", warehouse_code="east", quantity=5, reference="initial")


def _body(payment_method: str, **extra) -> dict:
    return {"shipping_address": ADDRESS, "shipping_method": "standard", "payment_method": payment_method, **extra}


class Guest:
    """A guest shopping over HTTP: one session (cookie), the same Idempotency-Key for every try of a checkout."""

    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.http = requests.Session()
        self.first: requests.Response | Exception | None = None

    def fill(self) -> None:
        r = self.http.post(f"{self.web.url}/api/v1/basket/lines/", json={"sku": "TEE-M", "quantity": 1}, timeout=30)
        assert r.status_code == 201, r.text

    def checkout(self, *, key: str, payment_method: str = TIMEOUT_TOKEN) -> requests.Response:
        retry = requests.Session()  # the app retrying: same cookies, its own connection
        retry.cookies.update(self.http.cookies)
        return retry.post(
            f"{self.web.url}/api/v1/checkout/",
            json=_body(payment_method, email="gil@example.com"),
            headers={"Idempotency-Key": key},
            timeout=60,
        )

    def checkout_in_background(self, *, key: str) -> threading.Thread:
        def run() -> None:
            try:
                self.first = self.checkout(key=key)
            except requests.RequestException as exc:  # the response is lost with the process
                self.first = exc

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.web.url}{path}", timeout=30)


def _gateway_did_the_work() -> SandboxCharge | None:
    """The sandbox authorized and recorded the charge, then "lost" its answer: the worker is in its back-off."""
    return SandboxCharge.objects.filter(status="authorized").first()


def _lease_runs_out(order: Order) -> None:
    wait_for(
        lambda: Order.objects.get(pk=order.pk).saga_lease_until < timezone.now(), timeout=10, what="the saga lease"
    )


# -- 1. no authorization outlives its order ---------------------------------------------------------
def test_an_order_cancelled_after_its_worker_died_mid_authorization_leaves_no_hold_on_the_card(shop):
    with WebServer(**SLOW_RETRY, PAYMENTS_GATEWAY_BACKOFF_SECONDS="60") as web:
        guest = Guest(web)
        guest.fill()
        first = guest.checkout_in_background(key="checkout-1")
        charge = wait_for(_gateway_did_the_work, timeout=30, what="the gateway to authorize")
        web.kill_worker()
        first.join(30)
    assert isinstance(guest.first, requests.ConnectionError)  # the customer never got an answer
    order, payment = Order.objects.get(), Payment.objects.get()
    assert (order.status, payment.status) == ("pending", "pending")

    _lease_runs_out(order)
    order_services.order_cancel(order=order, actor="customer", reason="changed my mind")
    payment_services.payments_resume_stuck(older_than_minutes=0)  # the resume sweep comes by later

    order.refresh_from_db()
    payment.refresh_from_db()
    charge.refresh_from_db()
    assert (order.status, payment.status, payment.gateway_ref) == ("cancelled", "voided", charge.id)
    assert charge.status == "voided"  # the gateway's own books: the hold is released
    assert not SandboxCharge.objects.filter(status="authorized").exists()
    # Compensation did it, not the backstop.
    assert payment_services.payments_stray_authorizations_void(older_than_minutes=0) == 0
    assert not StrayAuthorization.objects.exists()


# -- 2. "nothing was charged" is true ------------------------------------------------------------------
def test_an_authorization_whose_answer_was_lost_is_found_by_key_and_the_order_goes_through(
    customer_client, shop, settings
):
    settings.PAYMENTS_GATEWAY_MAX_ATTEMPTS = 1  # no retry: the one answer is lost after the gateway authorized
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")

    r = customer_client.post("/api/v1/checkout/", _body(TIMEOUT_TOKEN), format="json")

    assert (r.status_code, r.json()["status"]) == (201, "confirmed")
    [charge], payment = SandboxCharge.objects.all(), Payment.objects.get()
    assert (charge.status, payment.status, payment.gateway_ref) == ("authorized", "authorized", charge.id)


@pytest.fixture
def stripe_api(settings):
    with StripeStandIn() as standin:
        settings.PAYMENTS_GATEWAY = "stripe"
        settings.STRIPE_API_BASE = standin.url
        settings.STRIPE_API_KEY = "sk_test_standin"
        settings.STRIPE_TIMEOUT_SECONDS = 5
        settings.PAYMENTS_GATEWAY_MAX_ATTEMPTS = 1
        standin.drop_first_response_of = {"authorize"}  # Stripe authorizes, the connection drops before the answer
        yield standin


def test_stripe_lost_answer_is_found_by_searching_the_key(customer_client, shop, stripe_api):
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")

    r = customer_client.post("/api/v1/checkout/", _body("pm_card_visa"), format="json")

    assert (r.status_code, r.json()["status"]) == (201, "confirmed")
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway_ref) == ("authorized", "pi_1")
    assert stripe_api.intents["pi_1"]["status"] == "requires_capture"
    [search] = [q for q in stripe_api.requests if q["operation"] == "search"]
    assert search["params"]["query"] == f"metadata['flowmart_key']:'authorize-{payment.id}'"


def _stray_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("flowmart_payments_stray_authorizations_total", {"outcome": outcome}) or 0.0


def test_a_hold_the_lookup_could_not_see_is_voided_and_reported_by_the_stray_sweep(customer_client, shop, stripe_api):
    stripe_api.search_lags = True  # Stripe's search is eventually consistent: the brand-new intent is not found
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")

    r = customer_client.post("/api/v1/checkout/", _body("pm_card_visa"), format="json")

    assert (r.status_code, r.json()["code"]) == (503, "gateway_unavailable")
    order, payment = Order.objects.get(), Payment.objects.get()
    assert (order.status, payment.status) == ("failed", "failed")
    assert stripe_api.intents["pi_1"]["status"] == "requires_capture"  # held at Stripe, explained by nothing

    stripe_api.search_catch_up()
    before = _stray_count("voided")
    assert payment_services.payments_stray_authorizations_void(older_than_minutes=0) == 1

    assert stripe_api.intents["pi_1"]["status"] == "canceled"
    stray = StrayAuthorization.objects.get()
    assert (stray.status, stray.gateway_ref, stray.amount_minor, stray.reference, stray.payment_status) == (
        "voided",
        "pi_1",
        order.total_minor,
        f"order:{order.number}",
        "failed",
    )
    assert _stray_count("voided") == before + 1
    assert payment_services.payments_stray_authorizations_void(older_than_minutes=0) == 0


# -- 3. a lost response never hides an order -------------------------------------------------------
def test_a_retry_after_the_web_worker_died_mid_checkout_returns_that_order(shop):
    with WebServer(**SLOW_RETRY, PAYMENTS_GATEWAY_BACKOFF_SECONDS="60") as web:
        guest = Guest(web)
        guest.fill()
        first = guest.checkout_in_background(key="checkout-1")
        wait_for(_gateway_did_the_work, timeout=30, what="the gateway to authorize")
        web.kill_worker()
        first.join(30)
        assert isinstance(guest.first, requests.ConnectionError)
        web.wait_until_serving(timeout=30)
        order = Order.objects.get()

        retry = guest.checkout(key="checkout-1")
        assert (retry.status_code, retry.json()["number"], retry.json()["status"]) == (202, order.number, "pending")
        assert guest.get(f"/api/v1/orders/{order.number}/").status_code == 200  # the guest can find it

        _lease_runs_out(order)
        assert sagas_sweep() == 1
        final = guest.checkout(key="checkout-1")
        assert (final.status_code, final.json()["number"], final.json()["status"]) == (201, order.number, "confirmed")
    assert Order.objects.count() == Payment.objects.count() == SandboxCharge.objects.count() == 1


def test_a_dropped_database_connection_does_not_leave_the_key_in_flight(shop):
    with WebServer(**SLOW_RETRY, PAYMENTS_GATEWAY_BACKOFF_SECONDS="1.5") as web:
        guest = Guest(web)
        guest.fill()
        first = guest.checkout_in_background(key="checkout-1")
        wait_for(_gateway_did_the_work, timeout=30, what="the gateway to authorize")
        assert terminate_other_backends() >= 1  # the worker's connection, while it waits to ask again
        first.join(30)
        assert isinstance(guest.first, requests.Response) and guest.first.status_code >= 500
        order = Order.objects.get()

        retry = guest.checkout(key="checkout-1")
        assert (retry.status_code, retry.json()["number"], retry.json()["status"]) == (202, order.number, "pending")

        _lease_runs_out(order)
        assert sagas_sweep() == 1
        final = guest.checkout(key="checkout-1")
        assert (final.status_code, final.json()["number"], final.json()["status"]) == (201, order.number, "confirmed")
    assert Order.objects.count() == Payment.objects.count() == SandboxCharge.objects.count() == 1
