"""Checkout with a shipping method priced live by its carrier (EasyPost, through its local stand-in)."""

from __future__ import annotations

import pytest

from orders.models import Order
from shipping.models import ShippingMethod
from tests.shipping.easypost_standin import easypost_configured

pytestmark = pytest.mark.django_db


@pytest.fixture
def easypost(settings, shop):
    """US standard is priced live by EasyPost (cheapest service); its flat rate ($4.99 up to 1 kg) is the fallback."""
    with easypost_configured(settings) as standin:
        ShippingMethod.objects.filter(zone__code="us", code="standard").update(carrier="easypost", live_rates=True)
        yield standin


def _buy_a_mug(client, checkout_body, **overrides):
    r = client.post("/api/v1/basket/lines/", {"sku": "MUG", "quantity": 1}, format="json")
    assert r.status_code == 201, r.json()
    return client.post("/api/v1/checkout/", checkout_body(**overrides), format="json")


def test_checkout_charges_the_carriers_live_rate(customer_client, checkout_body, easypost):
    r = _buy_a_mug(customer_client, checkout_body)

    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "confirmed"
    # 300 g = 10.6 oz; the cheapest service, USPS GroundAdvantage: 5.40 + 0.05 × 10.6 = 5.93
    assert (body["totals"]["shipping_minor"], body["totals"]["total_minor"]) == (593, 1250 + 593)
    assert Order.objects.get(number=body["number"]).shipping_minor == 593


def test_checkout_completes_at_the_flat_rate_when_the_carrier_does_not_answer_in_time(
    customer_client, checkout_body, easypost
):
    easypost.delay["create"] = 5  # beyond SHIPPING_LIVE_RATE_TIMEOUT_SECONDS (0.5 s)

    r = _buy_a_mug(customer_client, checkout_body)

    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "confirmed"
    assert (body["totals"]["shipping_minor"], body["totals"]["total_minor"]) == (499, 1250 + 499)


def test_the_price_the_customer_saw_is_the_price_checkout_charges(api_client, customer_client, checkout_body, easypost):
    easypost.fail("create", 503)
    seen = api_client.get(
        "/api/v1/shipping-methods/?country=US&postal_code=12345&city=Springfield"
        "&weight_grams=300&subtotal_minor=1250&currency=USD"
    ).json()
    assert {m["code"]: m["price_minor"] for m in seen["methods"]}["standard"] == 499  # the flat rate

    # The carrier is back by the time the customer pays: the total they agreed to still holds.
    r = _buy_a_mug(customer_client, checkout_body, expected_total_minor=1250 + 499)

    assert r.status_code == 201, r.json()
    assert r.json()["totals"]["shipping_minor"] == 499
    assert [r["operation"] for r in easypost.requests] == ["create"]
