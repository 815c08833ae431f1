"""The Idempotency-Key mechanism on its own, through a real DRF view that "spends money"."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tests.testapp import views as probe_views
from tests.testapp.models import Effect

pytestmark = pytest.mark.urls("tests.testapp.urls")
URL = "/api/v1/_test/charges/"


def charge(client, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(URL, body, format="json", **headers)


def test_retry_with_same_key_and_body_replays_the_first_response(customer_client):
    first = charge(customer_client, {"key": "order-1", "amount_minor": 1299})
    retry = charge(customer_client, {"key": "order-1", "amount_minor": 1299})

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Effect.objects.filter(key="order-1").count() == 1


def test_without_a_key_every_request_runs(customer_client):
    charge(customer_client, {"key": "order-2", "amount_minor": 100}, key=None)
    charge(customer_client, {"key": "order-2", "amount_minor": 100}, key=None)
    assert Effect.objects.filter(key="order-2").count() == 2


def test_same_key_with_another_body_is_refused_with_422(customer_client):
    charge(customer_client, {"key": "order-3", "amount_minor": 100})
    response = charge(customer_client, {"key": "order-3", "amount_minor": 999})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert Effect.objects.filter(key="order-3").count() == 1


def test_keys_belong_to_their_caller(customer_client, other_customer):
    other = APIClient()
    other.force_authenticate(other_customer)
    charge(customer_client, {"key": "order-4", "amount_minor": 100}, key="shared-key")
    response = charge(other, {"key": "order-4", "amount_minor": 100}, key="shared-key")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Effect.objects.filter(key="order-4").count() == 2


def test_a_client_error_is_replayed_too(customer_client):
    first = charge(customer_client, {"key": "decline", "amount_minor": 100})
    retry = charge(customer_client, {"key": "decline", "amount_minor": 100})

    assert first.status_code == retry.status_code == 402
    assert retry.json()["code"] == "payment_declined"
    assert retry["Idempotent-Replayed"] == "true"


def test_a_server_error_forgets_the_key_so_the_retry_runs_again(customer_client):
    customer_client.raise_request_exception = False
    first = charge(customer_client, {"key": "explode", "amount_minor": 100})
    retry = charge(customer_client, {"key": "explode", "amount_minor": 100})

    assert first.status_code == 500
    assert retry.status_code == 500
    assert "Idempotent-Replayed" not in retry


def test_keys_expire_after_24_hours(customer_client):
    charge(customer_client, {"key": "order-5", "amount_minor": 100})
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        response = charge(customer_client, {"key": "order-5", "amount_minor": 100})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Effect.objects.filter(key="order-5").count() == 2


def test_invalid_key_is_a_400(customer_client):
    response = charge(customer_client, {"key": "order-6", "amount_minor": 100}, key="x" * 300)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"


@pytest.mark.django_db(transaction=True)
def test_same_key_while_the_first_is_in_flight_is_409(customer):
    probe_views.in_flight_gate.clear()
    probe_views.in_flight_started.clear()
    results = {}

    def first_request():
        client = APIClient()
        client.force_authenticate(customer)
        results["first"] = charge(client, {"key": "order-7", "amount_minor": 100})
        connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert probe_views.in_flight_started.wait(timeout=10)
        client = APIClient()
        client.force_authenticate(customer)
        second = charge(client, {"key": "order-7", "amount_minor": 100})
    finally:
        probe_views.in_flight_gate.set()
        thread.join(timeout=30)

    assert second.status_code == 409
    assert second.json()["code"] == "idempotency_key_in_flight"
    assert results["first"].status_code == 201
    assert Effect.objects.filter(key="order-7").count() == 1

    third = charge(client, {"key": "order-7", "amount_minor": 100})
    assert third.status_code == 201
    assert third["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True)
def test_a_key_left_in_flight_by_a_dead_request_is_taken_over_once_no_request_can_still_be_alive(customer, settings):
    # The first request never finishes (it stands for a web worker killed mid-request).
    probe_views.in_flight_gate.clear()
    probe_views.in_flight_started.clear()

    def first_request():
        client = APIClient()
        client.force_authenticate(customer)
        charge(client, {"key": "order-9", "amount_minor": 100})
        connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    client = APIClient()
    client.force_authenticate(customer)
    start = timezone.now()
    try:
        assert probe_views.in_flight_started.wait(timeout=10)
        stale_after = timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_STALE_SECONDS)
        with time_machine.travel(start + stale_after - timedelta(seconds=5)):
            early = charge(client, {"key": "order-9", "amount_minor": 100})
        with time_machine.travel(start + stale_after + timedelta(seconds=5)):
            late = charge(client, {"key": "order-9", "amount_minor": 100})
    finally:
        probe_views.in_flight_gate.set()
        thread.join(timeout=30)

    assert early.status_code == 409
    assert early.json()["code"] == "idempotency_key_in_flight"
    assert late.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_spend_once(customer):
    barrier = threading.Barrier(6)
    statuses = []

    def request():
        client = APIClient()
        client.force_authenticate(customer)
        barrier.wait()
        statuses.append(charge(client, {"key": "order-8", "amount_minor": 100}, key="race").status_code)
        connection.close()

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert Effect.objects.filter(key="order-8").count() == 1
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
