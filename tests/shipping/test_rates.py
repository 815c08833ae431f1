"""Shipping quotes: zones, weight bands, free-shipping threshold, member perks."""

from __future__ import annotations

import pytest

from shipping.services import ShippingMethodUnavailable, ShippingPerk, shipping_quote, shipping_quote_for_method

US = {"country": "US", "postal_code": "62701", "city": "Springfield"}


def light(weight=200, quantity=1):
    return [{"sku": "TEE", "quantity": quantity, "weight_grams": weight}]


def as_tuples(quotes):
    return [(q.code, q.price_minor, q.currency, q.min_days, q.max_days) for q in quotes]


def test_us_quote_lists_every_method_with_price_and_estimate(rates):
    quotes = shipping_quote(destination=US, lines=light(), subtotal_minor=2500, currency="USD")

    assert as_tuples(quotes) == [
        ("standard", 499, "USD", 3, 5),
        ("express", 1499, "USD", 1, 2),
        ("pickup", 0, "USD", 0, 1),
    ]
    assert quotes[0].name == "Standard"


def test_heavier_parcel_falls_in_a_higher_weight_band(rates):
    quotes = shipping_quote(destination=US, lines=light(weight=1500, quantity=2), subtotal_minor=2500, currency="USD")

    assert as_tuples(quotes)[:2] == [("standard", 899, "USD", 3, 5), ("express", 1999, "USD", 1, 2)]


def test_method_with_a_weight_limit_disappears_for_heavy_parcels(rates):
    quotes = shipping_quote(destination=US, lines=light(weight=25000), subtotal_minor=2500, currency="USD")

    assert [q.code for q in quotes] == ["standard", "pickup"]


def test_free_shipping_threshold_makes_standard_free(rates):
    quotes = shipping_quote(destination=US, lines=light(), subtotal_minor=5000, currency="USD")

    assert [(q.code, q.price_minor) for q in quotes] == [("standard", 0), ("express", 1499), ("pickup", 0)]


def test_member_perk_free_shipping(rates):
    perk = ShippingPerk(free_shipping=True)
    quotes = shipping_quote(destination=US, lines=light(), subtotal_minor=2500, currency="USD", perk=perk)

    assert [(q.code, q.price_minor) for q in quotes] == [("standard", 0), ("express", 0), ("pickup", 0)]


def test_member_perk_percent_off_rounds_half_even(rates):
    perk = ShippingPerk(percent_off=50)
    quotes = shipping_quote(destination=US, lines=light(), subtotal_minor=2500, currency="USD", perk=perk)

    # 499 - round_half_even(249.5) = 499 - 250 = 249; 1499 - 750 = 749
    assert [(q.code, q.price_minor) for q in quotes] == [("standard", 249), ("express", 749), ("pickup", 0)]


def test_order_value_band_gives_a_cheaper_rate(rates):
    from shipping.models import ShippingMethod, ShippingRate

    method = ShippingMethod.objects.get(zone__code="us", code="express")
    ShippingRate.objects.create(method=method, max_weight_grams=1000, min_subtotal_minor=20000, price_minor=999)

    assert (
        shipping_quote_for_method(
            method_code="express", destination=US, lines=light(), subtotal_minor=20000, currency="USD"
        ).price_minor
        == 999
    )
    assert (
        shipping_quote_for_method(
            method_code="express", destination=US, lines=light(), subtotal_minor=19999, currency="USD"
        ).price_minor
        == 1499
    )


def test_zones_by_country(rates):
    de = shipping_quote(destination={"country": "DE"}, lines=light(), subtotal_minor=2500, currency="USD")
    gb = shipping_quote(destination={"country": "gb"}, lines=light(), subtotal_minor=2500, currency="USD")
    jp = shipping_quote(destination={"country": "JP"}, lines=light(), subtotal_minor=2500, currency="USD")

    assert [(q.code, q.price_minor) for q in de] == [("standard", 999), ("express", 2499)]
    assert [(q.code, q.price_minor) for q in gb] == [("standard", 899), ("express", 1999)]
    assert [(q.code, q.name, q.price_minor, q.min_days, q.max_days) for q in jp] == [
        ("standard", "International standard", 1999, 7, 14)
    ]


def test_unserved_country_has_no_methods(rates):
    assert shipping_quote(destination={"country": "KP"}, lines=light(), subtotal_minor=2500, currency="USD") == []


def test_other_currency_has_no_methods(rates):
    assert shipping_quote(destination=US, lines=light(), subtotal_minor=2500, currency="EUR") == []


def test_quote_for_unavailable_method_raises(rates):
    with pytest.raises(ShippingMethodUnavailable) as exc:
        shipping_quote_for_method(
            method_code="pickup", destination={"country": "DE"}, lines=light(), subtotal_minor=2500, currency="USD"
        )

    assert exc.value.status == 400
    assert exc.value.code == "shipping_method_unavailable"
    assert exc.value.detail == "Shipping method 'pickup' is not available to DE for this order."


def test_seed_is_idempotent(rates):
    from shipping.demo import seed_demo_shipping
    from shipping.models import ShippingMethod, ShippingRate, ShippingZone

    seed_demo_shipping(currency="USD")

    assert ShippingZone.objects.count() == 4
    assert ShippingMethod.objects.count() == 8
    assert ShippingRate.objects.count() == 20
