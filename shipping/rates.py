"""Shipping quotes: zones, methods, weight/order-value bands, live carrier rates, free-shipping threshold, perks.

Read-only: checkout (orders) asks for quotes through ``shipping.services.shipping_quote``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Subquery

from flowmart.errors import FlowMartError
from flowmart.money import Money
from shipping.live_rates import live_price_minor
from shipping.models import ShippingMethod, ShippingRate, ShippingZone


class ShippingMethodUnavailable(FlowMartError):
    code = "shipping_method_unavailable"
    status = 400
    title = "That shipping method is not available for this order"


class InvalidQuoteRequest(FlowMartError):
    code = "invalid_quote_request"
    status = 400
    title = "The shipping quote request is invalid"


@dataclass(frozen=True)
class ShippingPerk:
    """A member perk passed in by the caller (shipping never asks subscriptions)."""

    free_shipping: bool = False
    percent_off: int = 0


@dataclass(frozen=True)
class ShippingQuote:
    code: str
    name: str
    price_minor: int
    currency: str
    min_days: int
    max_days: int

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "price_minor": self.price_minor,
            "currency": self.currency,
            "min_days": self.min_days,
            "max_days": self.max_days,
        }


def zone_for_country(country: str) -> ShippingZone | None:
    country = (country or "").strip().upper()
    if not country:
        return None
    return ShippingZone.objects.filter(countries__contains=[country]).order_by("sort_order", "code").first()


def _zone_for_country_query(country: str) -> Subquery:
    """``zone_for_country`` as a subquery, for a query that needs only the zone's id."""
    country = (country or "").strip().upper()
    zones = ShippingZone.objects.filter(countries__contains=[country]) if country else ShippingZone.objects.none()
    return Subquery(zones.order_by("sort_order", "code").values("pk")[:1])


def method_for(*, method_code: str, country: str) -> ShippingMethod | None:
    """The method a parcel to ``country`` ships with (it names the carrier and service), if it still exists."""
    zone = zone_for_country(country)
    return None if zone is None else zone.methods.filter(code=method_code).first()


def country_is_served(country: str) -> bool:
    return zone_for_country(country) is not None


def parcel_weight_grams(lines: list[dict]) -> int:
    total = 0
    for line in lines:
        try:
            quantity = int(line.get("quantity", 1))
            weight = int(line.get("weight_grams") or 0)
        except (TypeError, ValueError) as exc:
            raise InvalidQuoteRequest("Each line needs an integer quantity and weight_grams.") from exc
        if quantity < 0 or weight < 0:
            raise InvalidQuoteRequest("Quantities and weights cannot be negative.")
        total += quantity * weight
    return total


def _rate_for(method: ShippingMethod, *, weight_grams: int, subtotal_minor: int) -> ShippingRate | None:
    rates = [
        r
        for r in method.rates.all()
        if (r.max_weight_grams is None or weight_grams <= r.max_weight_grams) and r.min_subtotal_minor <= subtotal_minor
    ]
    if not rates:
        return None
    # Lightest fitting band first; within it, the highest order-value floor reached.
    rates.sort(key=lambda r: (r.max_weight_grams is None, r.max_weight_grams or 0, -r.min_subtotal_minor))
    return rates[0]


def _free_anyway(method: ShippingMethod, *, subtotal_minor: int, perk: ShippingPerk | None) -> bool:
    """Free whatever the carrier charges (threshold reached, member perk): no need to ask it."""
    if method.free_over_minor is not None and subtotal_minor >= method.free_over_minor:
        return True
    return perk is not None and method.perk_eligible and perk.free_shipping


def _price(method: ShippingMethod, base_minor: int, *, subtotal_minor: int, perk: ShippingPerk | None) -> int:
    if method.free_over_minor is not None and subtotal_minor >= method.free_over_minor:
        return 0
    price = Money(int(base_minor), method.currency)
    if perk is not None and method.perk_eligible:
        if perk.free_shipping:
            return 0
        if perk.percent_off:
            percent = max(0, min(100, int(perk.percent_off)))
            price = price - price.percentage(percent)
    return price.amount_minor


def shipping_quote(
    *, destination: dict, lines: list[dict], subtotal_minor: int, currency: str, perk: ShippingPerk | None = None
) -> list[ShippingQuote]:
    """Available methods to ``destination`` with price and delivery estimate; [] if not served."""
    if not isinstance(destination, dict):
        raise InvalidQuoteRequest("destination must be an object with a country.")
    if not isinstance(subtotal_minor, int) or subtotal_minor < 0:
        raise InvalidQuoteRequest("subtotal_minor must be a non-negative integer.")
    weight = parcel_weight_grams(lines)
    quotes = []
    methods = (
        # The zone is found in the same query (no zone for the country: no methods).
        ShippingMethod.objects.filter(zone=_zone_for_country_query(destination.get("country", "")))
        .filter(is_active=True, currency=(currency or "").upper())
        .order_by("sort_order", "code")  # the order the customer is offered them in
        .prefetch_related("rates")  # ``_rate_for`` picks the band itself
    )
    for method in methods:
        if method.max_weight_grams is not None and weight > method.max_weight_grams:
            continue
        rate = _rate_for(method, weight_grams=weight, subtotal_minor=subtotal_minor)
        if rate is None:
            continue
        base_minor = rate.price_minor
        if method.live_rates and not _free_anyway(method, subtotal_minor=subtotal_minor, perk=perk):
            live = live_price_minor(method=method, destination=destination, weight_grams=weight)
            base_minor = rate.price_minor if live is None else live
        quotes.append(
            ShippingQuote(
                code=method.code,
                name=method.name,
                price_minor=_price(method, base_minor, subtotal_minor=subtotal_minor, perk=perk),
                currency=method.currency,
                min_days=method.min_days,
                max_days=method.max_days,
            )
        )
    return quotes


def shipping_quote_for_method(
    *,
    method_code: str,
    destination: dict,
    lines: list[dict],
    subtotal_minor: int,
    currency: str,
    perk: ShippingPerk | None = None,
) -> ShippingQuote:
    """The quote of one method; raises ``ShippingMethodUnavailable`` (400) if it does not apply."""
    for q in shipping_quote(
        destination=destination, lines=lines, subtotal_minor=subtotal_minor, currency=currency, perk=perk
    ):
        if q.code == method_code:
            return q
    country = (destination or {}).get("country", "") if isinstance(destination, dict) else ""
    raise ShippingMethodUnavailable(
        f"Shipping method {method_code!r} is not available to {country or 'that destination'} for this order.",
        method_code=method_code,
    )
