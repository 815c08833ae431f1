from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from flowmart.events.models import Delivery, OutboxEvent
from flowmart.worker_heartbeat import heartbeat_record


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_up(client, db):
    heartbeat_record(hostname="worker@test")  # what a running worker does every WORKER_HEARTBEAT_SECONDS
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok", "worker": "ok"}
    assert response.json()["outbox"] == {
        "oldest_undelivered_age_seconds": 0.0,
        "deliveries_pending": 0,
        "events_undispatched": 0,
    }


def test_readyz_is_503_naming_the_worker_when_no_worker_heartbeats(client, db, settings):
    assert client.get("/readyz").json()["checks"]["worker"] == "down: no worker heartbeat"
    heartbeat_record(hostname="worker@test")
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS + 5)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]
    assert response.json()["checks"]["worker"] == "down: last worker heartbeat 65s ago"


def test_readyz_can_leave_the_worker_out_for_a_load_balancer(client, db, settings):
    settings.READYZ_REQUIRES_WORKER = False
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "worker" not in response.json()["checks"]


def test_readyz_and_metrics_report_the_outbox_lag(client, db):
    heartbeat_record(hostname="worker@test")
    occurred = timezone.now() - timedelta(seconds=90)
    stuck = OutboxEvent.objects.create(
        name="Probe", producer="tests", occurred_at=occurred, correlation_id="c", payload={}
    )
    OutboxEvent.objects.create(
        name="Probe", producer="tests", occurred_at=timezone.now(), correlation_id="c", payload={}
    )
    done = OutboxEvent.objects.create(
        name="Probe", producer="tests", occurred_at=occurred, correlation_id="c", payload={}, dispatched_at=occurred
    )
    Delivery.objects.create(event=done, handler="a", status=Delivery.Status.SUCCEEDED)
    Delivery.objects.create(event=done, handler="b", status=Delivery.Status.RETRYING)

    outbox = client.get("/readyz").json()["outbox"]
    metrics = client.get("/metrics").content.decode()

    assert 90 <= outbox["oldest_undelivered_age_seconds"] < 100
    assert (outbox["deliveries_pending"], outbox["events_undispatched"]) == (1, 2)
    assert "flowmart_event_deliveries_pending 1.0" in metrics
    lag = next(
        line for line in metrics.splitlines() if line.startswith("flowmart_outbox_oldest_undelivered_age_seconds ")
    )
    assert 90 <= float(lag.split()[1]) < 100
    assert stuck.dispatched_at is None


def test_readyz_is_503_naming_redis_when_redis_is_down(client, db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "flowmart.outage_tolerant_cache.OutageTolerantRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["worker"] == "unknown: its heartbeat lives in Redis"
