"""Live rates: a method that asks for them is priced by its carrier, its flat rate standing in when the carrier
does not answer in time (or at all)."""

from __future__ import annotations

import pytest

from shipping.models import ShippingMethod

pytestmark = pytest.mark.django_db

QUERY = "country=US&postal_code=62701&city=Springfield&weight_grams=1000&subtotal_minor=2500&currency=USD"


@pytest.fixture
def live_express(rates, easypost):
    """US express: EasyPost's USPS Priority price at checkout (flat fallback $14.99 up to 1 kg)."""
    ShippingMethod.objects.filter(zone__code="us", code="express").update(
        carrier="easypost", carrier_service="USPS/Priority", live_rates=True
    )


def prices(api_client, query=QUERY) -> dict[str, int]:
    response = api_client.get(f"/api/v1/shipping-methods/?{query}")
    assert response.status_code == 200, response.json()
    return {m["code"]: m["price_minor"] for m in response.json()["methods"]}


def creates(standin) -> int:
    return [r["operation"] for r in standin.requests].count("create")


def test_a_live_method_is_priced_by_the_carrier_and_the_others_by_their_flat_rates(api_client, live_express, easypost):
    assert prices(api_client) == {"standard": 499, "express": 1168, "pickup": 0}  # 8.15 + 0.10 × 35.3 oz
    [request] = easypost.requests
    assert request["body"]["shipment"]["to_address"]["zip"] == "62701"
    assert "reference" not in request["body"]["shipment"]  # a quote buys nothing


def test_one_carrier_answer_serves_the_same_parcel_for_a_while(api_client, live_express, easypost):
    prices(api_client)
    prices(api_client)

    assert creates(easypost) == 1
    other_weight = QUERY.replace("weight_grams=1000", "weight_grams=400")
    assert prices(api_client, other_weight)["express"] == 956  # 8.15 + 0.10 × 14.1 oz
    assert creates(easypost) == 2


def test_the_flat_rate_stands_in_when_the_carrier_does_not_answer_in_time(api_client, live_express, easypost):
    easypost.delay["create"] = 5  # well beyond SHIPPING_LIVE_RATE_TIMEOUT_SECONDS (0.5 s)

    assert prices(api_client)["express"] == 1499


@pytest.mark.parametrize("status", [503, 429, 500])
def test_the_flat_rate_stands_in_when_the_carrier_is_down_or_rate_limits(api_client, live_express, easypost, status):
    easypost.fail("create", status)

    assert prices(api_client)["express"] == 1499


def test_the_flat_rate_stands_in_when_the_carrier_does_not_offer_the_service(api_client, live_express, easypost):
    ShippingMethod.objects.filter(zone__code="us", code="express").update(carrier_service="FedEx/PRIORITY_OVERNIGHT")

    assert prices(api_client)["express"] == 1499


def test_a_method_that_is_free_anyway_does_not_ask_the_carrier(api_client, rates, easypost):
    ShippingMethod.objects.filter(zone__code="us", code="standard").update(carrier="easypost", live_rates=True)

    free = QUERY.replace("subtotal_minor=2500", "subtotal_minor=6000")  # standard is free from $50
    assert prices(api_client, free)["standard"] == 0
    assert easypost.requests == []
    assert prices(api_client)["standard"] == 717  # no service named: the cheapest, GroundAdvantage 5.40 + 0.05 × 35.3
