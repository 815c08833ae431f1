"""Saved payment methods: a gateway token with its display data, per customer."""

from __future__ import annotations

import uuid

import structlog

from flowmart.errors import FlowMartError, NotFound
from payments import gateways
from payments.errors import InvalidPaymentMethod
from payments.gateways.base import (
    GatewayError,
    UnknownPaymentMethod,
)
from payments.models import (
    SavedPaymentMethod,
)
from payments.selectors import (
    PaymentMethodInfo,
    payment_method_info,
)
from payments.steps import gateway_call, payment_method_check

log = structlog.get_logger(__name__)


# -- saved payment methods --------------------------------------------------------------------
def payment_method_attach(*, user_id: str | uuid.UUID, token: str) -> PaymentMethodInfo:
    """Save a gateway token for a customer with its display data (brand, last 4, expiry). Idempotent per token."""
    payment_method_check(token)
    try:
        owner = uuid.UUID(str(user_id))
    except ValueError as exc:
        raise FlowMartError("user_id must be the user's public id (a UUID).") from exc
    gateway = gateways.get_gateway()
    try:
        card = gateway_call("card_details", gateway.card_details, token=token)
    except UnknownPaymentMethod as exc:
        raise InvalidPaymentMethod("The payment provider does not know this payment method.") from exc
    except GatewayError as exc:
        raise InvalidPaymentMethod(exc.message or "The payment method could not be saved.") from exc
    method, _ = SavedPaymentMethod.objects.get_or_create(
        user_id=owner,
        token=card.token,
        defaults={
            "gateway": gateway.name,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        },
    )
    return payment_method_info(method)


def payment_method_detach(*, user_id: str | uuid.UUID, method_id: uuid.UUID | str) -> None:
    """Forget a saved card of this customer; ``NotFound`` (404) if it is not theirs or already gone."""
    try:
        deleted, _ = SavedPaymentMethod.objects.filter(
            user_id=uuid.UUID(str(user_id)), pk=uuid.UUID(str(method_id))
        ).delete()
    except ValueError:
        deleted = 0
    if not deleted:
        raise NotFound("No such saved card.")
