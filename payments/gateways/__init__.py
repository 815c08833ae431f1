"""Card processors behind one interface; ``get_gateway()`` picks the one settings name."""

from __future__ import annotations

from django.conf import settings

from payments.gateways.base import Gateway
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.stripe_gateway import StripeGateway

GATEWAY_NAMES = ("sandbox", "stripe")


def get_gateway(name: str | None = None) -> Gateway:
    name = name or settings.PAYMENTS_GATEWAY
    if name == "sandbox":
        return SandboxGateway()
    if name == "stripe":
        return StripeGateway()
    raise LookupError(f"unknown payment gateway {name!r}")
