"""Demo zones, methods and rates (``seed_demo_shipping``). Idempotent: re-running updates in place."""

from __future__ import annotations

from django.db import transaction

from shipping.models import ShippingMethod, ShippingRate, ShippingZone

EU = ["DE", "FR", "IT", "ES", "NL", "BE", "AT", "IE", "PT", "SE", "DK", "FI", "PL"]
ZONES = [
    ("us", "United States", ["US"], 0),
    ("eu", "European Union", EU, 1),
    ("uk", "United Kingdom", ["GB"], 2),
    ("rest", "Rest of the world", ["CA", "AU", "JP", "NZ", "CH", "NO"], 3),
]
# zone → [(code, name, min_days, max_days, free_over_minor, max_weight_grams, bands[(max_weight, min_subtotal, price)])]
METHODS = {
    "us": [
        ("standard", "Standard", 3, 5, 5000, None, [(1000, 0, 499), (5000, 0, 899), (None, 0, 1499)]),
        ("express", "Express", 1, 2, None, 20000, [(1000, 0, 1499), (5000, 0, 1999), (None, 0, 2999)]),
        ("pickup", "Pick up in store", 0, 1, None, None, [(None, 0, 0)]),
    ],
    "eu": [
        ("standard", "Standard", 4, 8, 10000, None, [(1000, 0, 999), (5000, 0, 1499), (None, 0, 2499)]),
        ("express", "Express", 2, 3, None, 20000, [(1000, 0, 2499), (None, 0, 3999)]),
    ],
    "uk": [
        ("standard", "Standard", 3, 6, 10000, None, [(1000, 0, 899), (5000, 0, 1399), (None, 0, 2299)]),
        ("express", "Express", 1, 3, None, 20000, [(1000, 0, 1999), (None, 0, 3499)]),
    ],
    "rest": [
        ("standard", "International standard", 7, 14, None, 20000, [(1000, 0, 1999), (5000, 0, 3499), (None, 0, 5999)]),
    ],
}


def seed_demo_shipping(*, currency: str = "USD") -> dict:
    counts = {"zones": 0, "methods": 0, "rates": 0}
    with transaction.atomic():
        for code, name, countries, order in ZONES:
            zone, _ = ShippingZone.objects.update_or_create(
                code=code, defaults={"name": name, "countries": countries, "sort_order": order}
            )
            counts["zones"] += 1
            for index, (m_code, m_name, min_days, max_days, free_over, max_weight, bands) in enumerate(METHODS[code]):
                method, _ = ShippingMethod.objects.update_or_create(
                    zone=zone,
                    code=m_code,
                    defaults={
                        "name": m_name,
                        "currency": currency,
                        "min_days": min_days,
                        "max_days": max_days,
                        "free_over_minor": free_over,
                        "max_weight_grams": max_weight,
                        "perk_eligible": m_code != "pickup",
                        "is_active": True,
                        "sort_order": index,
                    },
                )
                counts["methods"] += 1
                method.rates.all().delete()
                ShippingRate.objects.bulk_create(
                    [
                        ShippingRate(method=method, max_weight_grams=w, min_subtotal_minor=s, price_minor=p)
                        for w, s, p in bands
                    ]
                )
                counts["rates"] += len(bands)
    return counts
