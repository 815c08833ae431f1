"""Guests without a cookie (native apps) keep their basket with ``X-Basket-Token``; reading creates nothing."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient

from orders.models import Basket, Order

pytestmark = pytest.mark.django_db


def cookieless() -> APIClient:
    """A client that never sends back a cookie, like a native app's HTTP stack without a jar."""
    client = APIClient()
    client.cookies.clear()
    return client


def test_reading_the_basket_creates_no_basket_and_no_session(api_client, shop):
    for _ in range(3):
        response = api_client.get("/api/v1/basket/")
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["lines"], body["item_count"]) == (None, [], 0)
        assert "X-Basket-Token" not in response

    assert (Basket.objects.count(), Session.objects.count()) == (0, 0)
    assert api_client.cookies.get("sessionid") is None


def test_a_cookieless_guest_fills_and_checks_out_its_basket_by_token(shop, checkout_body):
    client = cookieless()
    created = client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 2}, format="json")
    assert created.status_code == 201
    token = created["X-Basket-Token"]
    client.cookies.clear()

    added = client.post(
        "/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json", HTTP_X_BASKET_TOKEN=token
    )
    client.cookies.clear()
    seen = client.get("/api/v1/basket/", HTTP_X_BASKET_TOKEN=token).json()

    assert added.status_code == 201
    assert [(line["sku"], line["quantity"]) for line in seen["lines"]] == [("TEE-M", 2), ("MUG", 1)]
    assert Basket.objects.count() == 1
    client.cookies.clear()
    order = client.post(
        "/api/v1/checkout/",
        checkout_body(email="app-guest@example.com"),
        format="json",
        HTTP_X_BASKET_TOKEN=token,
        HTTP_IDEMPOTENCY_KEY="app-1",
    )
    assert order.status_code == 201, order.json()
    placed = Order.objects.get(number=order.json()["number"])
    assert (placed.email, placed.user_id) == ("app-guest@example.com", None)
    assert [(line.sku, line.quantity) for line in placed.lines.order_by("sku")] == [("MUG", 1), ("TEE-M", 2)]


def test_a_forged_basket_token_is_a_400_problem(api_client, shop):
    response = api_client.get("/api/v1/basket/", HTTP_X_BASKET_TOKEN="0000:forged")

    assert (response.status_code, response.json()["code"]) == (400, "basket_token_invalid")


def test_another_guests_basket_id_without_its_signature_opens_nothing(api_client, shop):
    theirs = APIClient()
    theirs.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 1}, format="json")
    basket_id = str(Basket.objects.get().public_id)

    response = api_client.get("/api/v1/basket/", HTTP_X_BASKET_TOKEN=basket_id)

    assert response.status_code == 400


def test_the_quantity_limit_is_in_the_schema(api_client):
    schema = api_client.get("/api/schema/?format=json").json()["components"]["schemas"]

    assert schema["BasketLineAddInRequest"]["properties"]["quantity"]["maximum"] == 10
    assert schema["PatchedBasketLineUpdateInRequest"]["properties"]["quantity"]["maximum"] == 10
