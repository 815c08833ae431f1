"""What the OpenAPI schema promises a generated client, and the docs pages that show it (offline)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/schema/?format=json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_documents_problem_responses(schema):
    for path, method, operation in operations(schema):
        problems = {code: r for code, r in operation["responses"].items() if code >= "400"}
        assert {"429", "503"} <= set(problems), (method, path)
        for code, response in problems.items():
            assert "application/problem+json" in response["content"], (method, path, code)
            assert response["content"]["application/problem+json"]["schema"]["$ref"].endswith("ProblemOut")
            assert response["description"], (method, path, code)


def test_signed_in_operations_document_401_and_path_parameters_404(schema):
    me = schema["paths"]["/api/v1/me/"]["get"]["responses"]
    order = schema["paths"]["/api/v1/orders/{number}/cancel/"]["post"]["responses"]
    assert "not_authenticated" in me["401"]["description"]
    assert {"400", "403", "404", "409", "413", "415", "422"} <= set(order)


def test_idempotent_operations_describe_the_header(schema):
    for path, method in [("/api/v1/checkout/", "post"), ("/api/v1/orders/{number}/cancel/", "post")]:
        [header] = [p for p in schema["paths"][path][method]["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header"
        assert header.get("required", False) is False
        assert "replayed" in header["description"]


def test_the_product_list_is_documented_as_a_page(schema):
    ok = schema["paths"]["/api/v1/products/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"


def test_the_timeline_is_typed_and_hides_internal_payloads(schema):
    entry = schema["components"]["schemas"]["TimelineEntryOut"]["properties"]
    assert set(entry) == {"name", "producer", "occurred_at", "text", "details"}
    details = schema["components"]["schemas"]["TimelineDetailsOut"]["properties"]
    assert "user_id" not in details and "allocations" not in details
    assert all("type" in field or "$ref" in field for field in details.values())


def test_staff_and_webhook_endpoints_are_tagged_apart(schema):
    tags = {(method, path): op["tags"] for path, method, op in operations(schema)}
    assert tags[("post", "/api/v1/inventory/adjustments/")] == ["staff"]
    assert tags[("post", "/api/v1/payments/webhooks/{gateway}/")] == ["webhooks"]
    assert tags[("post", "/api/v1/shipping/webhooks/{carrier}/")] == ["webhooks"]
    assert tags[("post", "/api/v1/checkout/")] == ["checkout"]


def test_login_and_token_refresh_are_reachable_from_the_main_docs(schema):
    description = schema["info"]["description"]
    assert "/_allauth/app/v1/auth/login" in description
    assert "/_allauth/app/v1/tokens/refresh" in description
    assert "/_allauth/openapi.html" in description


@pytest.mark.parametrize("url", ["/api/docs/", "/_allauth/openapi.html"])
def test_the_docs_pages_load_nothing_from_another_host(client, url):
    response = client.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r'"(https?://[^"]+\.(?:js|css))"', page)
    assert sources
    assert not [s for s in sources if s.startswith(("http://", "https://", "//"))], sources
    assert "sidecar" in page
