from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class UserSignedUp(Event):
    """A customer created an account (storefront or app)."""

    name = "UserSignedUp"
    producer = "users"

    user_id: str
    email: str
    full_name: str
