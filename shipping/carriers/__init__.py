"""Carrier adapters. ``get_carrier(code)`` returns one by code; no code: the shop default (``SHIPPING_CARRIER``).

Each shipping method may name its carrier (``ShippingMethod.carrier``); shipments remember the
carrier that labelled them, so tracking and voids go back to the same one.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

from flowmart.network_calls import assert_no_transaction
from shipping.carriers.base import (
    CUSTOMER_CHOICES,
    PICKUP,
    REDELIVER,
    RETURN,
    Carrier,
    CarrierRate,
    CarrierUnavailable,
    DeliveryOptions,
    InstructionRefused,
    Label,
    LabelRefused,
    Parcel,
    ParcelAlreadyPickedUp,
    TrackingUpdate,
    WebhookRejected,
)
from shipping.carriers.easypost_carrier import EasyPostCarrier
from shipping.carriers.sandbox import SandboxCarrier

__all__ = [
    "CARRIER_CHOICES",
    "CUSTOMER_CHOICES",
    "PICKUP",
    "REDELIVER",
    "RETURN",
    "Carrier",
    "CarrierRate",
    "CarrierUnavailable",
    "DeliveryOptions",
    "InstructionRefused",
    "Label",
    "LabelRefused",
    "ParcelAlreadyPickedUp",
    "Parcel",
    "TrackingUpdate",
    "WebhookRejected",
    "carrier_missing_settings",
    "get_carrier",
]

_ADAPTERS = {"sandbox": SandboxCarrier, "easypost": EasyPostCarrier}
CARRIER_CHOICES = [("sandbox", "Sandbox (built in)"), ("easypost", "EasyPost (USPS, UPS, FedEx, …)")]
# The settings an adapter cannot work without (secrets come from the environment).
_REQUIRED_SETTINGS = {"easypost": ("EASYPOST_API_KEY", "EASYPOST_WEBHOOK_SECRET", "EASYPOST_FROM_ADDRESSES")}


def carrier_missing_settings(code: str) -> list[str]:
    """The settings carrier ``code`` needs that are empty here (a method cannot switch to it until set)."""
    return [name for name in _REQUIRED_SETTINGS.get(code, ()) if not getattr(settings, name, None)]


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
        self.code = adapter.code

    def rates(self, *, parcel: Parcel, timeout_seconds: float) -> list[CarrierRate]:
        assert_no_transaction("the carrier (rates)")
        return self._adapter.rates(parcel=parcel, timeout_seconds=timeout_seconds)

    def create_label(self, *, parcel: Parcel) -> Label:
        assert_no_transaction("the carrier (create_label)")
        return self._adapter.create_label(parcel=parcel)

    def track(self, *, tracking_number: str) -> list[TrackingUpdate]:
        assert_no_transaction("the carrier (track)")
        return self._adapter.track(tracking_number=tracking_number)

    def cancel(self, *, tracking_number: str, label_id: str) -> None:
        assert_no_transaction("the carrier (cancel)")
        return self._adapter.cancel(tracking_number=tracking_number, label_id=label_id)

    def webhook_updates(self, *, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """Verify and read a pushed delivery; ``LookupError`` if this carrier pushes none of its own."""
        receive = getattr(self._adapter, "webhook_updates", None)
        if receive is None:
            raise LookupError(f"carrier {self.code!r} has no webhook of its own")
        return receive(body=body, headers=headers)

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
