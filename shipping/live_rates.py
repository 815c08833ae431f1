"""Live rates at checkout: the method's carrier prices the parcel; its flat rate stands in when it does not answer.

One carrier call prices every service for a destination and weight, and the answer — or the
fact that there was none in time — is kept for ``SHIPPING_LIVE_RATE_CACHE_SECONDS``: the
shipping options, the preview and the order placed a moment later quote the same price, so
a carrier that answers the second time but not the first cannot move the total under the
customer's feet.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import structlog
from django.conf import settings
from django.core.cache import cache

from shipping.carriers import CarrierRate, CarrierUnavailable, LabelRefused, Parcel, get_carrier
from shipping.models import ShippingMethod

log = structlog.get_logger(__name__)


def live_price_minor(*, method: ShippingMethod, destination: dict, weight_grams: int) -> int | None:
    """The carrier's price for ``method`` (its service, or the cheapest), or None: quote the flat rate."""
    offers = carrier_rates(
        carrier_code=method.carrier or settings.SHIPPING_CARRIER, destination=destination, weight_grams=weight_grams
    )
    wanted = method.carrier_service.lower()
    prices = [
        offer.price_minor
        for offer in offers
        if offer.currency == method.currency and (not wanted or offer.service.lower() == wanted)
    ]
    return min(prices) if prices else None


def carrier_rates(*, carrier_code: str, destination: dict, weight_grams: int) -> list[CarrierRate]:
    """Every rate the carrier offers for the parcel; [] when it refused or did not answer in time."""
    address = {key: str(destination.get(key) or "") for key in ("country", "postal_code", "city")}
    address["country"] = address["country"].upper()
    fingerprint = "|".join(
        [carrier_code, address["country"], address["postal_code"], address["city"], str(weight_grams)]
    )
    key = "shipping:live-rates:" + hashlib.sha256(fingerprint.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return [CarrierRate(**offer) for offer in cached]
    try:
        offers = get_carrier(carrier_code).rates(
            parcel=Parcel(reference="", address=address, weight_grams=weight_grams),
            timeout_seconds=settings.SHIPPING_LIVE_RATE_TIMEOUT_SECONDS,
        )
    except (CarrierUnavailable, LabelRefused) as exc:
        log.warning("live rates unavailable; quoting flat rates", carrier=carrier_code, error=str(exc))
        offers = []
    cache.set(key, [asdict(offer) for offer in offers], settings.SHIPPING_LIVE_RATE_CACHE_SECONDS)
    return offers
