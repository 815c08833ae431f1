"""Carrier adapters. ``get_carrier()`` returns the configured one (``SHIPPING_CARRIER``)."""

from __future__ import annotations

from django.conf import settings

from shipping.carriers.base import (
    Carrier,
    CarrierUnavailable,
    Label,
    LabelRefused,
    Parcel,
    TrackingUpdate,
)
from shipping.carriers.sandbox import SandboxCarrier

__all__ = [
    "Carrier",
    "CarrierUnavailable",
    "Label",
    "LabelRefused",
    "Parcel",
    "TrackingUpdate",
    "get_carrier",
]

_ADAPTERS = {"sandbox": SandboxCarrier}


def get_carrier(code: str | None = None) -> Carrier:
    code = code or settings.SHIPPING_CARRIER
    try:
        return _ADAPTERS[code]()
    except KeyError as exc:
        raise LookupError(f"no carrier adapter {code!r}; known: {sorted(_ADAPTERS)}") from exc
