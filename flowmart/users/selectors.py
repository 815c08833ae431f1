from __future__ import annotations

from flowmart.users.models import Address, User


def user_get_by_public_id(*, public_id) -> User | None:
    return User.objects.filter(public_id=public_id).first()


def address_list_for_user(*, user: User) -> list[Address]:
    return list(Address.objects.filter(user=user))
