from __future__ import annotations

from flowmart.users.models import User


def user_get_by_public_id(*, public_id) -> User | None:
    return User.objects.filter(public_id=public_id).first()
