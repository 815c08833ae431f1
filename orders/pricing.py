"""Prices at checkout: member perks (subscriptions), discounts and shipping quotes (shipping)."""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.money import Money
from shipping import services as shipping_services
from subscriptions import selectors as subscription_selectors


@dataclass(frozen=True)
class Perks:
    tier_name: str | None = None
    percent_off: int = 0
    free_shipping: bool = False
    early_access: bool = False  # may buy new arrivals in their members' early access

    @property
    def is_member(self) -> bool:
        return bool(self.tier_name)


NO_PERKS = Perks()


def perks_for_user(*, user) -> Perks:
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_PERKS
    perks = subscription_selectors.member_perks_for_user(user_id=str(user.public_id))
    return Perks(
        tier_name=perks.tier_name,
        percent_off=max(0, min(int(perks.percent_off or 0), 100)),
        free_shipping=bool(perks.free_shipping),
        early_access=bool(perks.early_access),
    )


def line_discount_minor(*, line_total_minor: int, currency: str, percent_off: int) -> int:
    if not percent_off:
        return 0
    return Money(line_total_minor, currency).percentage(percent_off).amount_minor


def _shipping_perk(perks: Perks):
    # percent_off applies to the goods (``line_discount_minor``); shipping only gets free shipping.
    if not perks.free_shipping:
        return None
    return shipping_services.ShippingPerk(free_shipping=perks.free_shipping, percent_off=0)


def _destination(address: dict) -> dict:
    return {
        "country": (address.get("country") or "").upper(),
        "postal_code": address.get("postal_code", ""),
        "city": address.get("city", ""),
    }


def shipping_quotes(*, address: dict, lines: list[dict], subtotal_minor: int, currency: str, perks: Perks) -> list:
    """Shipping options for the basket (``lines``: [{sku, quantity, weight_grams}])."""
    return shipping_services.shipping_quote(
        destination=_destination(address),
        lines=lines,
        subtotal_minor=subtotal_minor,
        currency=currency,
        perk=_shipping_perk(perks),
    )


def shipping_quote_for(
    *, method_code: str, address: dict, lines: list[dict], subtotal_minor: int, currency: str, perks: Perks
):
    """The one chosen option; raises shipping's ``ShippingMethodUnavailable`` (400) if it is not offered."""
    return shipping_services.shipping_quote_for_method(
        method_code=method_code,
        destination=_destination(address),
        lines=lines,
        subtotal_minor=subtotal_minor,
        currency=currency,
        perk=_shipping_perk(perks),
    )


def lines_charged_minor(order, lines=None) -> list[int]:
    """What was charged for the goods of each of ``order``'s lines (in line order), after every discount.

    A line's own discount (the member percent-off) is already off its ``line_total_minor``; any discount
    of the order not on a line (``order.discount_minor`` beyond the lines' ``discount_minor``) is apportioned
    to the lines in proportion to their totals with ``Money.allocate`` — integer minor units, the
    remainder one unit at a time to the first lines — so the charged amounts add up to exactly what was
    charged for goods (``subtotal_minor − discount_minor``). Returns refund these shares, never more.
    ``lines``: the order's lines when the caller has them already (one query fewer).
    """
    lines = list(order.lines.all() if lines is None else lines)
    totals = [max(line.line_total_minor, 0) for line in lines]
    undistributed = order.discount_minor - sum(line.discount_minor for line in lines)
    if undistributed <= 0 or sum(totals) <= 0:
        return totals
    shares = Money(undistributed, order.currency).allocate(totals)
    return [total - share.amount_minor for total, share in zip(totals, shares, strict=True)]


def lines_payload(order, lines=None) -> list[dict]:
    """The order's lines as events carry them: ``OrderLine.as_payload()`` plus ``charged_minor``."""
    lines = list(order.lines.all() if lines is None else lines)
    return [
        {**line.as_payload(), "charged_minor": charged}
        for line, charged in zip(lines, lines_charged_minor(order, lines), strict=True)
    ]
