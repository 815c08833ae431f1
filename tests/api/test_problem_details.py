"""Every API error has one shape (RFC 9457), never an HTML page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


def assert_problem(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:flowmart:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body


def test_unknown_api_url_is_a_json_404(client, db):
    assert_problem(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_unknown_page_outside_the_api_is_html(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_a_405_problem(customer_client):
    assert_problem(customer_client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_anonymous_caller_gets_a_401_problem(api_client, db):
    response = api_client.get("/api/v1/me/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_validation_errors_name_the_fields(customer_client):
    response = customer_client.patch("/api/v1/me/", {"full_name": "x" * 200}, format="json")
    body = assert_problem(response, 400, "invalid")
    assert list(body["errors"]) == ["full_name"]
    assert "150" in body["errors"]["full_name"][0]


def test_malformed_json_is_a_400_problem(customer_client):
    response = customer_client.generic("PATCH", "/api/v1/me/", "{not json", content_type="application/json")
    assert_problem(response, 400, "parse_error")


@pytest.mark.urls("tests.testapp.urls")
def test_throttled_caller_gets_a_429_problem_with_retry_after(db):
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "anon": "2/min"}
    try:
        cache.clear()
        client = APIClient()
        for _ in range(2):
            assert client.get("/api/v1/_test/charges/").status_code == 405
        response = client.get("/api/v1/_test/charges/")
        body = assert_problem(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0
        assert body["retry_after"] > 0
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


@pytest.mark.urls("tests.testapp.urls")
def test_unhandled_error_is_a_500_problem_without_internals(api_client, db):
    api_client.raise_request_exception = False
    response = api_client.post("/api/v1/_test/charges/", {"key": "explode", "amount_minor": 1}, format="json")
    body = assert_problem(response, 500, "server_error")
    assert "RuntimeError" not in response.content.decode()
    assert "server fault" not in body["detail"]


def test_openapi_schema_is_valid(client, db):
    import yaml
    from drf_spectacular.validation import validate_schema

    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["info"]["title"] == "FlowMart API"
    assert "/api/v1/me/" in schema["paths"]


def test_openapi_schema_generates_without_warnings(db):
    from django.core.management import call_command

    # --fail-on-warn: a colliding enum or operationId would also surface in `check --deploy`.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", "/dev/null")


def test_api_docs_page_renders(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
