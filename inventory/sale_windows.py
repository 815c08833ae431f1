"""When a product is on sale, and for whom: the members' early-access window.

A product may open to members with early access (``Product.early_access_at``) before it opens to
everyone (``Product.on_sale_at``). Both empty: on sale now. Only ``on_sale_at``: a scheduled launch
for everyone. Inventory cannot know who is a member (subscriptions sits above it), so every question
here takes ``is_member`` as an argument; the storefront learns it from subscriptions' middleware,
orders from ``subscriptions.selectors.member_perks_for_user``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

UPCOMING, MEMBERS_ONLY, OPEN = "upcoming", "members_only", "open"


@dataclass(frozen=True)
class SaleWindow:
    early_access_at: datetime | None = None
    on_sale_at: datetime | None = None

    def opens_at(self, *, is_member: bool) -> datetime | None:
        """When this customer may buy (None: always could)."""
        if is_member and self.early_access_at is not None:
            return self.early_access_at
        return self.on_sale_at

    def is_open(self, *, is_member: bool, now: datetime | None = None) -> bool:
        opens = self.opens_at(is_member=is_member)
        return opens is None or opens <= (now or timezone.now())

    def phase(self, *, now: datetime | None = None) -> str:
        """``upcoming`` (nobody may buy), ``members_only`` (early access) or ``open`` (everyone)."""
        now = now or timezone.now()
        if self.is_open(is_member=False, now=now):
            return OPEN
        return MEMBERS_ONLY if self.is_open(is_member=True, now=now) else UPCOMING

    def as_payload(self) -> dict:
        return {
            "early_access_at": self.early_access_at.isoformat() if self.early_access_at else None,
            "on_sale_at": self.on_sale_at.isoformat() if self.on_sale_at else None,
        }

    @classmethod
    def from_payload(cls, data: dict | None) -> SaleWindow:
        data = data or {}
        return cls(early_access_at=_parse(data.get("early_access_at")), on_sale_at=_parse(data.get("on_sale_at")))


ALWAYS_OPEN = SaleWindow()


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def sale_status(window: SaleWindow, *, is_member: bool, now: datetime | None = None) -> dict:
    """What the product page and the API say about buying it now, for this customer."""
    now = now or timezone.now()
    phase = window.phase(now=now)
    can_buy = window.is_open(is_member=is_member, now=now)
    return {
        "phase": phase,
        "can_buy": can_buy,
        "members_early_access": window.early_access_at is not None and phase != OPEN,
        "opens_at": window.opens_at(is_member=is_member),
        "early_access_at": window.early_access_at,
        "on_sale_at": window.on_sale_at,
    }


def member_early_access_of(request) -> bool:
    """Whether the customer behind ``request`` has members' early access.

    Set by ``subscriptions.middleware.MemberEarlyAccessMiddleware`` (lazily, so an API request is
    asked after DRF authenticated it); absent (no subscriptions app) means no.
    """
    return bool(getattr(request, "member_early_access", False))
