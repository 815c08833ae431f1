"""Guests' way back to their orders: a signed, expiring link, a lookup by number and email, an account.

* ``order_link_url`` — the link in every order email to a guest and on the confirmation page. It is signed
  (``django.core.signing``, salt ``orders.order-link``) and dated: it opens the order in any browser for
  ``ORDER_LINK_MAX_AGE_DAYS``; after that the guest looks the order up again.
* ``order_link_request`` — "find my order": the number and the email it was placed with. The link is
  *emailed* to that address, never shown: the two facts are printed on parcels and invoices and can be
  guessed, the mailbox cannot. The caller answers the same whatever the outcome (no enumeration).
* ``guest_orders_attach`` — a guest who makes an account gets the orders placed with that email once the
  address is confirmed (allauth's ``email_confirmed``), parcels and returns included.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from flowmart.errors import FlowMartError
from flowmart.events.publisher import publish
from orders.events import OrderLinkRequested
from orders.models import Order, OrderStatus
from shipping import services as shipping_services

log = structlog.get_logger(__name__)

ORDER_LINK_SALT = "orders.order-link"


class OrderLinkInvalid(FlowMartError):
    code = "order_link_invalid"
    status = 400
    title = "This order link is not valid or has expired"


def order_link_token(*, order_number: str) -> str:
    return signing.dumps({"o": order_number}, salt=ORDER_LINK_SALT)


def order_link_url(*, order_number: str) -> str:
    token = order_link_token(order_number=order_number)
    return settings.SITE_URL + reverse("orders:order_link", kwargs={"token": token})


def order_link_read(token: str) -> str:
    """The order number a link opens; ``OrderLinkInvalid`` if forged, mangled or older than the limit."""
    try:
        data = signing.loads(token, salt=ORDER_LINK_SALT, max_age=settings.ORDER_LINK_MAX_AGE_DAYS * 86400)
        return str(data["o"])
    except signing.SignatureExpired as exc:
        raise OrderLinkInvalid("This link to your order has expired: look the order up again.") from exc
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise OrderLinkInvalid("This link to your order is not valid: look the order up again.") from exc


def _guest_order(*, number: str, email: str) -> Order | None:
    number, email = number.strip().upper(), email.strip()
    if not number or not email:
        return None
    return (
        Order.objects.filter(number=number, email__iexact=email, user__isnull=True)
        .exclude(status=OrderStatus.FAILED)
        .first()
    )


def order_link_request(*, number: str, email: str) -> bool:
    """Email the link to a guest order placed with this email. Returns whether one matched, for tests and
    logs only: callers must answer the same either way."""
    order = _guest_order(number=number, email=email)
    if order is None:
        log.info("order lookup matched nothing")
        return False
    with transaction.atomic():
        publish(OrderLinkRequested(correlation_id=order.number, order_number=order.number, customer_email=order.email))
    return True


def guest_orders_attach(*, user, email: str) -> list[str]:
    """The guest orders placed with ``email`` join ``user`` (who confirmed that address). Returns their numbers."""
    with transaction.atomic():
        orders = Order.objects.select_for_update().filter(user__isnull=True, email__iexact=email)
        numbers = sorted(orders.values_list("number", flat=True))
        Order.objects.filter(number__in=numbers).update(user=user)
        if numbers:
            shipping_services.guest_records_attach(order_numbers=numbers, user_id=str(user.public_id))
    if numbers:
        log.info("guest orders attached to account", orders=numbers)
    return numbers
