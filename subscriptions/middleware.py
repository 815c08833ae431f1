"""Tells the layers below whether the customer has members' early access.

Inventory decides who may buy a new arrival but cannot import subscriptions (docs/architecture.md
§Layers), so its views read ``request.member_early_access``, set here. It is lazy: a storefront page
that never asks costs no query, and an API request is answered after DRF authenticated its bearer
token (DRF copies the user onto the Django request).
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from subscriptions.selectors import member_perks_for_user


def _early_access(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return member_perks_for_user(user_id=str(user.public_id)).early_access


class MemberEarlyAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.member_early_access = SimpleLazyObject(lambda: _early_access(request))
        return self.get_response(request)
