"""Bad input gets a 4xx problem document (API) or a form message (storefront), never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from orders.models import Order

pytestmark = pytest.mark.django_db

BAD_BODIES = [
    {},
    {"sku": None, "quantity": "many"},
    {"sku": "MUG", "quantity": 10**15},
    {"sku": ["MUG"], "quantity": -1},
    {"lines": "nope"},
    {"lines": [{"sku": "MUG", "quantity": "x"}]},
    {"lines": [{"sku": "MUG", "quantity": 10**15}]},
    {"shipping_address": "nowhere", "shipping_method": 7, "payment_method": {"x": 1}},
    {"shipping_address": {"name": "a", "line1": "b", "city": "c", "postal_code": "1", "country": "ZZZ"}},
    {"payment_method": "x" * 5000},
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_api_answers_4xx_problems(customer_client, shop, body):
    customer_client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    line_id = customer_client.get("/api/v1/basket/").json()["lines"][0]["id"]
    order_number = None
    r = customer_client.post(
        "/api/v1/checkout/",
        {
            "shipping_address": {"name": "a", "line1": "b", "city": "c", "postal_code": "1", "country": "US"},
            "shipping_method": "standard",
            "payment_method": "pm_card_visa",
        },
        format="json",
    )
    order_number = r.json()["number"]
    for method, path in [
        ("post", "/api/v1/basket/lines/"),
        ("patch", f"/api/v1/basket/lines/{line_id}/"),
        ("post", "/api/v1/checkout/"),
        ("post", f"/api/v1/orders/{order_number}/amend/"),
        ("post", f"/api/v1/orders/{order_number}/payment/"),
        ("post", f"/api/v1/orders/{order_number}/cancel/"),
    ]:
        response = getattr(customer_client, method)(path, body, format="json")
        if path.endswith("/cancel/"):  # every field of a cancel is optional: it may simply succeed
            assert response.status_code in (200, 400, 409), (path, response.status_code)
            continue
        assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:300])
        assert response["Content-Type"] == "application/problem+json"


def test_storefront_bad_forms_never_500(shop, customer):
    c = Client()
    c.force_login(customer)
    assert c.post("/basket/add/", {"sku": "", "quantity": "lots"}).status_code == 302
    assert c.post("/basket/add/", {"sku": "NOPE", "quantity": "1"}, follow=True).status_code == 200
    assert c.post("/basket/lines/999999/", {"quantity": "x"}).status_code == 302
    c.post("/basket/add/", {"sku": "MUG", "quantity": "1"})
    assert c.post("/checkout/", {"country": "not a country"}).status_code == 200
    assert (
        c.post("/checkout/", {"country": ["US", "GB"], "shipping_method": "x" * 500, "intent": "update"}).status_code
        == 200
    )
    assert c.post("/checkout/", {"saved_address": "not-an-address", "payment_method": "x" * 5000}).status_code == 200
    assert c.post("/checkout/", {"expected_total_minor": "lots"}, HTTP_X_CHECKOUT_FRAGMENT="1").status_code == 200
    assert c.get("/orders/FM-NOPE0000/").status_code == 404
    assert c.post("/orders/FM-NOPE0000/cancel/").status_code == 404
    assert Order.objects.count() == 0
