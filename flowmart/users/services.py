from __future__ import annotations

from django.db import transaction

from flowmart.events.publisher import publish
from flowmart.users.events import UserSignedUp
from flowmart.users.models import User


def user_signed_up(*, user: User) -> None:
    """Announce a new account; the welcome email and anything else hang off the event."""
    with transaction.atomic():
        publish(
            UserSignedUp(
                correlation_id=f"user:{user.public_id}",
                user_id=str(user.public_id),
                email=user.email,
                full_name=user.full_name,
            )
        )
