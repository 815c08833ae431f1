"""Demo membership plans for ``make run`` (``seed_demo_subscriptions``). Idempotent."""

from __future__ import annotations

from django.db import transaction

from subscriptions.models import Plan, Tier

DEMO_TIERS = [
    {
        "name": "Plus",
        "rank": 1,
        "free_shipping": True,
        "percent_off": 10,
        "early_access": True,
        "description": "Free shipping on every order, 10% off member prices, early access to new arrivals.",
    },
]
DEMO_PLANS = [
    {
        "code": "plus-monthly",
        "name": "FlowMart Plus",
        "tier": "Plus",
        "interval": "monthly",
        "price_minor": 999,
        "trial_days": 14,
        "sort_order": 1,
    },
    {
        "code": "plus-yearly",
        "name": "FlowMart Plus Yearly",
        "tier": "Plus",
        "interval": "yearly",
        "price_minor": 9900,
        "trial_days": 0,
        "sort_order": 2,
    },
]


def demo_plans_ensure(*, currency: str = "USD") -> list[tuple[str, bool]]:
    """Create the demo tier and plans if missing (existing ones are left as staff edited them)."""
    results = []
    with transaction.atomic():
        tiers = {}
        for spec in DEMO_TIERS:
            tier, _ = Tier.objects.get_or_create(
                name=spec["name"], defaults={k: v for k, v in spec.items() if k != "name"}
            )
            tiers[tier.name] = tier
        for spec in DEMO_PLANS:
            defaults = {**spec, "tier": tiers[spec["tier"]], "currency": currency}
            defaults.pop("code")
            _, created = Plan.objects.get_or_create(code=spec["code"], defaults=defaults)
            results.append((spec["code"], created))
    return results
