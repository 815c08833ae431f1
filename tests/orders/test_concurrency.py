"""Concurrency: identical checkouts racing on real threads (each its own connection), and a hot product."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orders.models import Order
from payments.selectors import payments_for_reference
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _fill(client, *lines):
    for sku, qty in lines:
        assert client.post("/api/v1/basket/lines/", {"sku": sku, "quantity": qty}, format="json").status_code == 201


def test_two_concurrent_identical_checkouts_make_one_order(customer, shop, checkout_body):
    client = APIClient()
    client.force_authenticate(customer)
    _fill(client, ("TEE-M", 1))
    results = []
    barrier = threading.Barrier(2)

    def run():
        c = APIClient()
        c.force_authenticate(customer)
        barrier.wait()
        try:
            results.append(c.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="twice"))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409])
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert order.status == "confirmed"
    assert len(payments_for_reference(reference=f"order:{order.number}")) == 1


def test_two_concurrent_checkouts_with_different_keys_make_one_order(customer, shop, checkout_body):
    client = APIClient()
    client.force_authenticate(customer)
    _fill(client, ("TEE-M", 1))
    results = []
    barrier = threading.Barrier(2)

    def run(key):
        c = APIClient()
        c.force_authenticate(customer)
        barrier.wait()
        try:
            results.append(c.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY=key))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results)[0] == 201
    assert Order.objects.filter(status="confirmed").count() == 1
    assert all(r.status_code in (201, 400, 409) for r in results)


def test_hot_product_twelve_buyers_for_five_units(shop, checkout_body, available):
    buyers = [UserFactory(email=f"racer{i}@example.com") for i in range(12)]
    clients = []
    for user in buyers:
        c = APIClient()
        c.force_authenticate(user)
        _fill(c, ("TEE-M", 1))
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    results = []

    def run(c):
        barrier.wait()
        try:
            results.append(c.post("/api/v1/checkout/", checkout_body(), format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [201] * 5 + [409] * 7
    assert Order.objects.filter(status="confirmed").count() == 5
    assert available("TEE-M") == 0
    assert all(o.saga_status == "compensated" for o in Order.objects.exclude(status="confirmed"))


def test_client_retry_after_its_timeout_gets_202_then_201_with_the_same_order(
    customer, shop, checkout_body, monkeypatch
):
    """The first request is slow (gateway); the client gives up and retries with the same key: it is told the
    order exists and is still being placed (202), then, once the first request is done, that it went through."""
    from orders import saga

    slow_started = threading.Event()
    gateway_answers = threading.Event()  # the "slow gateway" answers only when the test says so
    original = saga._step_authorize

    def slow_authorize(order):
        slow_started.set()
        gateway_answers.wait(30)
        original(order)

    monkeypatch.setattr(saga, "_step_authorize", slow_authorize)
    client = APIClient()
    client.force_authenticate(customer)
    _fill(client, ("TEE-M", 1))
    first: list = []

    def run():
        c = APIClient()
        c.force_authenticate(customer)
        try:
            first.append(c.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="slow-1"))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert slow_started.wait(10)
        retry = client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
        pending = Order.objects.get()
        assert (retry.status_code, retry.json()["number"], retry.json()["status"]) == (202, pending.number, "pending")
    finally:
        gateway_answers.set()
        thread.join()

    again = client.post("/api/v1/checkout/", checkout_body(), format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
    assert first[0].status_code == again.status_code == 201
    assert again.json()["number"] == first[0].json()["number"] == pending.number
    assert Order.objects.count() == 1
    assert len(payments_for_reference(reference=f"order:{again.json()['number']}")) == 1
