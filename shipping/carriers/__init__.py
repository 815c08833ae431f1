"""Carrier adapters. ``get_carrier()`` returns the configured one (``SHIPPING_CARRIER``)."""

from __future__ import annotations

from django.conf import settings

from flowmart.network_calls import assert_no_transaction
from shipping.carriers.base import (
    CUSTOMER_CHOICES,
    PICKUP,
    REDELIVER,
    RETURN,
    Carrier,
    CarrierUnavailable,
    DeliveryOptions,
    InstructionRefused,
    Label,
    LabelRefused,
    Parcel,
    TrackingUpdate,
)
from shipping.carriers.sandbox import SandboxCarrier

__all__ = [
    "CUSTOMER_CHOICES",
    "PICKUP",
    "REDELIVER",
    "RETURN",
    "Carrier",
    "CarrierUnavailable",
    "DeliveryOptions",
    "InstructionRefused",
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
        adapter = _ADAPTERS[code]()
    except KeyError as exc:
        raise LookupError(f"no carrier adapter {code!r}; known: {sorted(_ADAPTERS)}") from exc
    return _OutsideTransactions(adapter)


class _OutsideTransactions:
    """Wraps an adapter so every call to the carrier first checks that no transaction is open."""

    def __init__(self, adapter: Carrier) -> None:
        self._adapter = adapter

    def create_label(self, *, parcel: Parcel) -> Label:
        assert_no_transaction("the carrier (create_label)")
        return self._adapter.create_label(parcel=parcel)

    def track(self, *, tracking_number: str) -> list[TrackingUpdate]:
        assert_no_transaction("the carrier (track)")
        return self._adapter.track(tracking_number=tracking_number)

    def cancel(self, *, tracking_number: str, label_id: str) -> None:
        assert_no_transaction("the carrier (cancel)")
        return self._adapter.cancel(tracking_number=tracking_number, label_id=label_id)

    # An adapter written without the delivery-failure methods gets the interface's defaults.
    def delivery_options(self, *, tracking_number: str) -> DeliveryOptions:
        assert_no_transaction("the carrier (delivery_options)")
        method = getattr(self._adapter, "delivery_options", None)
        if method is None:
            return Carrier.delivery_options(self._adapter, tracking_number=tracking_number)
        return method(tracking_number=tracking_number)

    def delivery_instruct(self, *, tracking_number: str, instruction: str):
        assert_no_transaction("the carrier (delivery_instruct)")
        method = getattr(self._adapter, "delivery_instruct", None)
        if method is None:
            return Carrier.delivery_instruct(self._adapter, tracking_number=tracking_number, instruction=instruction)
        return method(tracking_number=tracking_number, instruction=instruction)
