"""Bad input that used to reach a 500 (or an HTML page an app cannot read): each answers a 4xx problem."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _str_routes(patterns=None, prefix: str = "") -> list[str]:
    """Every route with a ``<str:...>`` converter, each converter filled with ``a%00b``."""
    routes = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _str_routes(entry.url_patterns, pattern)
        elif isinstance(entry, URLPattern) and "<str:" in pattern:
            routes.append("/" + re.sub(r"<str:\w+>", "a%00b", pattern))
    return routes


STR_ROUTES = _str_routes()


def test_the_str_routes_are_all_found():
    assert len(STR_ROUTES) >= 14
    assert "/tracking/a%00b/" in STR_ROUTES
    assert "/api/v1/tracking/a%00b/" in STR_ROUTES


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "customer"])
def test_a_nul_byte_in_a_path_is_a_404_never_a_500(customer, signed_in):
    client = Client()
    if signed_in:
        client.force_login(customer)
    for route in STR_ROUTES:
        for method in (client.get, client.post):
            response = method(route)
            assert response.status_code == 404, (route, method.__name__)
            if route.startswith("/api/"):
                assert response["Content-Type"] == PROBLEM, route
                assert response.json()["code"] == "not_found"


def test_a_nul_byte_in_the_query_string_is_a_400():
    response = Client().get("/api/v1/products/?search=a%00b")

    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert response.json()["code"] == "bad_request"


def test_a_5_mb_json_body_is_a_413_problem(api_client):
    body = json.dumps({"sku": "x" * 5_000_000, "quantity": 1})

    response = api_client.post("/api/v1/basket/lines/", data=body, content_type="application/json")

    assert (response.status_code, response["Content-Type"]) == (413, PROBLEM)
    assert response.json()["code"] == "request_too_large"


def test_deeply_nested_json_is_a_400_problem(api_client):
    body = "[" * 100_000 + "]" * 100_000

    response = api_client.post("/api/v1/basket/lines/", data=body, content_type="application/json")

    assert (response.status_code, response["Content-Type"]) == (400, PROBLEM)
    assert response.json()["code"] == "parse_error"
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "development"])
def test_an_unknown_api_path_is_a_problem_document(settings, debug):
    settings.DEBUG = debug

    response = Client().get("/api/v1/no-such-thing/")

    assert (response.status_code, response["Content-Type"]) == (404, PROBLEM)
    assert response.json()["code"] == "not_found"


def test_a_storefront_404_stays_a_page_in_development(settings):
    settings.DEBUG = True

    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
