"""Basket API (add, change, remove, limits, availability) and member perks at checkout; schema stays valid."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from orders.models import Basket, Order
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_basket_lines_add_change_remove(customer_client, shop):
    r = customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 2}, format="json")
    assert r.status_code == 201
    [line] = r.json()["lines"]
    assert (line["sku"], line["name"], line["quantity"], line["line_total_minor"]) == ("MUG", "Mug", 2, 2500)

    r = customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    assert r.json()["lines"][0]["quantity"] == 3  # same SKU: one line

    r = customer_client.patch(f"/api/v1/basket/lines/{line['id']}/", {"quantity": 5}, format="json")
    assert (r.status_code, r.json()["subtotal_minor"]) == (200, 6250)

    r = customer_client.delete(f"/api/v1/basket/lines/{line['id']}/")
    assert (r.status_code, r.json()["lines"], r.json()["item_count"]) == (200, [], 0)


def test_basket_refuses_unknown_sku_too_many_and_more_than_in_stock(customer_client, shop):
    r = customer_client.post("/api/v1/basket/lines/", {"sku": "NOPE", "quantity": 1}, format="json")
    assert (r.status_code, r.json()["code"]) == (400, "unknown_sku")
    r = customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 11}, format="json")
    assert (r.status_code, r.json()["code"], r.json()["detail"]) == (
        400,
        "quantity_not_allowed",
        "You can buy at most 10 of one item.",
    )
    r = customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 6}, format="json")
    assert (r.status_code, r.json()["code"], r.json()["detail"]) == (
        409,
        "insufficient_stock",
        "Only 5 of Tee left in stock.",
    )
    r = customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 0}, format="json")
    assert r.status_code == 400 and "quantity" in r.json()["errors"]


def test_a_line_of_someone_elses_basket_is_404(customer_client, other_customer, shop):
    line = customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json").json()["lines"][
        0
    ]
    other = APIClient()
    other.force_authenticate(other_customer)
    r = other.patch(f"/api/v1/basket/lines/{line['id']}/", {"quantity": 2}, format="json")
    assert (r.status_code, r.json()["code"]) == (404, "basket_line_not_found")


def test_stock_running_out_is_shown_on_the_basket(customer_client, shop):
    customer_client.post("/api/v1/basket/lines/", {"sku": "TEE-M", "quantity": 4}, format="json")
    from inventory.allocation import StockLine
    from inventory.services import stock_reserve

    stock_reserve(reference="order:elsewhere", lines=[StockLine(sku="TEE-M", quantity=3)])
    body = customer_client.get("/api/v1/basket/").json()
    assert body["can_checkout"] is False
    assert body["lines"][0]["problem"] == "Only 2 left in stock."
    assert body["notices"] == ["Only 2 of Tee left; please lower the quantity."]


def test_member_gets_percent_off_and_free_shipping(customer, customer_client, shop, checkout_body):
    SubscriptionFactory(user=customer)  # Plus: 10% off, free shipping
    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")

    r = customer_client.post("/api/v1/checkout/", checkout_body(), format="json")

    assert r.status_code == 201, r.json()
    assert r.json()["totals"] == {
        "currency": "USD",
        "subtotal_minor": 1250,
        "discount_minor": 125,
        "shipping_minor": 0,
        "total_minor": 1125,
        "refunded_minor": 0,
        "refund_pending_minor": 0,
    }
    assert Order.objects.get().member_tier == "Plus"


def test_expected_total_mismatch_is_409_basket_changed(customer_client, shop, checkout_body):
    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    r = customer_client.post("/api/v1/checkout/", checkout_body(expected_total_minor=999), format="json")
    assert (r.status_code, r.json()["code"], r.json()["total_minor"]) == (409, "basket_changed", 1749)
    assert Order.objects.count() == 0


def test_openapi_schema_is_valid_with_the_orders_endpoints(api_client):
    r = api_client.get("/api/schema/?format=json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in (
        "/api/v1/basket/",
        "/api/v1/checkout/",
        "/api/v1/orders/{number}/cancel/",
        "/api/v1/orders/{number}/amend/",
    ):
        assert p in paths


def test_a_confirmed_order_takes_only_what_it_ordered_out_of_the_basket(customer, shop):
    """Lines the order took whole go; a line the customer added to meanwhile keeps the rest; the version moves."""
    from orders import services

    basket = services.basket_get_or_create(user=customer)
    services.basket_line_add(basket=basket, sku="TEE-M", quantity=3)
    services.basket_line_add(basket=basket, sku="MUG", quantity=1)
    version = Basket.objects.get(pk=basket.pk).version

    services.basket_clear_lines(basket_public_id=basket.public_id, quantities={"TEE-M": 2, "MUG": 1})

    assert [(line.sku, line.quantity) for line in basket.lines.all()] == [("TEE-M", 1)]
    assert Basket.objects.get(pk=basket.pk).version == version + 1
