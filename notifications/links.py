"""Signed links in messages: one-click unsubscribe, order feedback and back-in-stock confirmation (no login)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
FEEDBACK_SALT = "notifications.feedback"
BACK_IN_STOCK_SALT = "notifications.back_in_stock"
BACK_IN_STOCK_LINK_MAX_AGE_DAYS = 7


class BadLink(Exception):
    pass


def unsubscribe_token(*, email: str, category: str) -> str:
    return signing.dumps({"e": email.lower(), "c": category}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, email: str, category: str) -> str:
    token = unsubscribe_token(email=email, category=category)
    return settings.SITE_URL + reverse("notifications:unsubscribe", kwargs={"token": token})


def unsubscribe_token_read(token: str) -> tuple[str, str]:
    """(email, category) from a token; unsubscribe links do not expire."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return str(data["e"]), str(data["c"])
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise BadLink("This unsubscribe link is not valid.") from exc


def feedback_token(*, order_number: str) -> str:
    return signing.dumps({"o": order_number}, salt=FEEDBACK_SALT)


def feedback_url(*, order_number: str) -> str:
    return settings.SITE_URL + reverse(
        "notifications:feedback", kwargs={"token": feedback_token(order_number=order_number)}
    )


def feedback_token_read(token: str) -> str:
    try:
        data = signing.loads(token, salt=FEEDBACK_SALT, max_age=settings.FEEDBACK_LINK_MAX_AGE_DAYS * 86400)
        return str(data["o"])
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise BadLink("This feedback link is not valid or has expired.") from exc


def back_in_stock_confirm_url(*, request_id: int) -> str:
    token = signing.dumps({"r": request_id}, salt=BACK_IN_STOCK_SALT)
    return settings.SITE_URL + reverse("notifications:back_in_stock_confirm", kwargs={"token": token})


def back_in_stock_token_read(token: str) -> int:
    """The request id; confirmation links expire after a week (ask again after that)."""
    try:
        data = signing.loads(token, salt=BACK_IN_STOCK_SALT, max_age=BACK_IN_STOCK_LINK_MAX_AGE_DAYS * 86400)
        return int(data["r"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise BadLink("This confirmation link is not valid or has expired.") from exc
