"""The carrier interface: every adapter (the sandbox, a real carrier's API) implements it.

Adapters make network calls: call them outside any database transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flowmart.errors import FlowMartError


class LabelRefused(FlowMartError):
    """The carrier will not carry this parcel (destination not served, address refused…)."""

    code = "label_refused"
    status = 422
    title = "The carrier refused the label"


class CarrierUnavailable(FlowMartError):
    """A transient failure (timeout, 5xx): try again later."""

    code = "carrier_unavailable"
    status = 503
    title = "The carrier is not reachable right now"


class WebhookRejected(Exception):
    """A carrier's webhook delivery that must not be applied: bad signature (``signature=True``) or bad body."""

    def __init__(self, message: str, *, signature: bool) -> None:
        super().__init__(message)
        self.signature = signature


@dataclass(frozen=True)
class Parcel:
    reference: str  # our shipment or RMA number: the carrier's idempotency key ("" for a quote)
    address: dict
    weight_grams: int
    method_code: str = "standard"
    is_return: bool = False
    service: str = ""  # the carrier's service, "<carrier>/<service>" (e.g. "USPS/Priority"); "" = cheapest
    warehouse_code: str = ""  # where the parcel leaves from ("" = the default origin)


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str
    label_id: str
    label_url: str = ""  # the printable label the carrier issued ("" when we print our own)


@dataclass(frozen=True)
class CarrierRate:
    """One price the carrier offers for a parcel (live rates at checkout)."""

    service: str  # "<carrier>/<service>", e.g. "USPS/Priority"
    price_minor: int
    currency: str
    delivery_days: int | None = None


@dataclass(frozen=True)
class TrackingUpdate:
    """One step the carrier reports. ``sequence`` starts at 1 and has no gaps per parcel."""

    event_id: str
    tracking_number: str
    sequence: int
    code: str  # picked_up | in_transit | out_for_delivery | delivery_failed | delivered | returned_to_sender
    description: str
    location: str
    occurred_at: datetime

    def as_dict(self) -> dict:
        return {
            "event_id": self.event_id,
            "tracking_number": self.tracking_number,
            "sequence": self.sequence,
            "code": self.code,
            "description": self.description,
            "location": self.location,
            "occurred_at": self.occurred_at.isoformat(),
        }


class Carrier(Protocol):
    code: str

    def rates(self, *, parcel: Parcel, timeout_seconds: float) -> list[CarrierRate]: ...

    def create_label(self, *, parcel: Parcel) -> Label: ...

    def track(self, *, tracking_number: str) -> list[TrackingUpdate]: ...

    def cancel(self, *, tracking_number: str, label_id: str) -> None: ...


class PushesWebhooks(Protocol):
    """An adapter whose carrier pushes tracking in its own signed format (the sandbox's is in ``webhooks.py``)."""

    def webhook_updates(self, *, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """Verify one delivery (raises ``WebhookRejected``) and return the tracking updates in it."""
        ...
