"""Issue 12 item 5: a Redis outage degrades the shop; it does not take it down.

A real gunicorn serves the shop from the test database with a Redis of our own as cache, session
cache, throttle store and Celery broker. The test kills that Redis (SIGKILL: every connection drops)
and shops while it is away, as a guest: browse, add to the basket, check out. Then it brings back an
empty Redis and a real worker, and the events the checkout published while the broker was down are
delivered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from flowmart.events.models import Delivery, OutboxEvent
from flowmart.events.registry import subscriptions_for
from orders.models import Order, OrderStatus
from tests.faults import processes_uptime
from tests.faults.database import database_url
from tests.faults.processes_uptime import (
    ROOT,
    Gunicorn,
    Process,
    celery_worker_args,
    flowmart_env,
    http_request,
    wait_for,
)

# Fixtures of the uptime fault helpers.
fault_shop = processes_uptime.fault_shop
own_redis = processes_uptime.own_redis
started = processes_uptime.started
test_database_name = processes_uptime.test_database_name

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]

ADDRESS = {
    "name": "Robin Guest",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def test_shop_sells_through_a_redis_outage_and_delivers_its_events_when_redis_is_back(
    fault_shop, own_redis, test_database_name, started, tmp_path
):
    queue = f"faults-redis-{uuid.uuid4().hex[:8]}"
    env = flowmart_env(database_url=database_url(test_database_name), redis_url=own_redis.url, queue=queue)
    web = started(Gunicorn(env=env, log_dir=tmp_path))
    web.wait_ready()
    port = web.port
    guest: dict[str, str] = {}

    def call(method, path, body=None, headers=None, accept="application/json"):
        return http_request(
            "127.0.0.1", port, method, path, body=body, headers={"Accept": accept, **(headers or {})}, cookies=guest
        )

    # Before the outage: the guest's session (cached in Redis) holds a basket with one tee.
    status, _, _ = call("POST", "/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1})
    assert status == 201

    own_redis.stop()

    answers = {
        "home page": call("GET", "/", accept="text/html")[0],
        "product page": call("GET", f"/products/{fault_shop.product.slug}/", accept="text/html")[0],
        "products API": call("GET", "/api/v1/products/")[0],
        "basket add": call("POST", "/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2})[0],
        "basket page": call("GET", "/basket/", accept="text/html")[0],
    }
    basket_status, _, basket = call("GET", "/api/v1/basket/")
    checkout_status, _, placed = call(
        "POST",
        "/api/v1/checkout/",
        {
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment_method": "pm_card_visa",
            "email": "robin@example.com",
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )

    assert answers == {
        "home page": 200,
        "product page": 200,
        "products API": 200,
        "basket add": 201,
        "basket page": 200,
    }
    assert basket_status == 200
    assert [(line["sku"], line["quantity"]) for line in json.loads(basket)["lines"]] == [("TEE-M", 3)], (
        "the session made before the outage still finds its basket"
    )
    assert checkout_status == 201, placed[:2000]
    number = json.loads(placed)["number"]
    order = Order.objects.get(number=number)
    assert (order.status, order.total_minor) == (OrderStatus.CONFIRMED, 3 * 2000 + order.shipping_minor)
    published = OutboxEvent.objects.filter(correlation_id=number)
    assert {"OrderPlaced", "OrderConfirmed"} <= set(published.values_list("name", flat=True))
    # The broker was down: no event a handler listens to is dispatched yet (one nobody listens to is recorded
    # dispatched at once: it has nothing to deliver).
    heard = [row for row in published if subscriptions_for(row.name)]
    assert "OrderConfirmed" in {row.name for row in heard}
    assert [row.name for row in heard if row.dispatched_at is not None] == []
    assert not Delivery.objects.filter(event__correlation_id=number).exists()

    # Redis comes back empty (no persistence). The guest's session survives (its row is in the database),
    # and the beat task's redelivery plus a real worker deliver what was published during the outage.
    own_redis.start()
    order_status, _, _ = call("GET", f"/api/v1/orders/{number}/")
    assert order_status == 200, "the guest still owns the order: the session outlived Redis"
    started(Process("worker", celery_worker_args(concurrency=1), env=env, log_dir=tmp_path))
    redeliver = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from flowmart.events.tasks import redeliver_events_task as t; print(t(older_than_seconds=0))",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "'undispatched': " in redeliver.stdout

    def all_delivered() -> bool:
        deliveries = Delivery.objects.filter(event__correlation_id=number)
        return (
            published.filter(dispatched_at__isnull=True).count() == 0
            and deliveries.exists()
            and not (deliveries.exclude(status=Delivery.Status.SUCCEEDED).exists())
        )

    wait_for(all_delivered, timeout=60, what="the outage's events to be delivered by the worker")


def test_a_stock_reservation_commits_while_the_cache_cannot_be_written_and_the_bump_is_stored_later(
    fault_shop, own_redis, settings
):
    """Even Django's plain Redis cache (which raises) cannot fail the reservation's transaction; the
    invalidation it could not store is stored before the catalog is next read, so no stale page survives."""
    from django.core.cache import cache

    from inventory import catalog_cache
    from inventory import services as inventory_services
    from inventory.selectors import available_quantity

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    version_key = catalog_cache.PREFIX + catalog_cache.product_dep(fault_shop.product.slug)
    cache.set(version_key, "1", timeout=None)
    own_redis.stop()

    reservation = inventory_services.stock_reserve(
        reference="FM-OUTAGE1", lines=[inventory_services.StockLine(sku="TEE-M", quantity=2)], ttl_minutes=30
    )

    assert [(a.sku, a.quantity) for a in reservation.allocations] == [("TEE-M", 2)]
    assert available_quantity(sku="TEE-M") == 48
    own_redis.start()
    cache.set(version_key, "1", timeout=None)  # what a Redis that kept its data would still say
    catalog_cache.cached(key="any", deps=[catalog_cache.LISTS], build=lambda: "page")
    assert cache.get(version_key) != "1", "the invalidation missed during the outage was stored"
