"""Request ids, structured logs and metrics: what an operator relies on."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from flowmart.logging_config import build_logging


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


def test_a_proxy_request_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234567890")
    assert response["X-Request-ID"] == "lb-1234567890"


def test_production_logs_are_one_json_object_per_line_with_request_and_correlation_ids(client, settings):
    build_logging(level="INFO", fmt="json")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)
    try:
        with structlog.contextvars.bound_contextvars(request_id="req-1", correlation_id="FM-TEST1234"):
            structlog.get_logger("flowmart.test").info("order confirmed", total_minor=1299)
        logging.getLogger("django.request").warning("plain stdlib record")
    finally:
        build_logging(level=settings.LOG_LEVEL, fmt=settings.LOG_FORMAT)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "order confirmed"
    assert lines[0]["request_id"] == "req-1"
    assert lines[0]["correlation_id"] == "FM-TEST1234"
    assert lines[0]["total_minor"] == 1299
    assert lines[0]["level"] == "info"
    assert lines[1]["event"] == "plain stdlib record"


@pytest.mark.django_db
def test_metrics_count_requests_and_report_event_health(client):
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    assert 'flowmart_http_requests_total{method="GET",status="200"}' in body
    assert 'flowmart_event_deliveries{status="dead"} 0.0' in body
    assert "flowmart_worker_heartbeat_age_seconds +Inf" in body  # no worker in this test


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_configured(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics").status_code == 200
