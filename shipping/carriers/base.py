"""The carrier interface: every adapter (the sandbox, a real carrier's API) implements it.

Adapters make network calls: call them outside any database transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from flowmart.errors import FlowMartError


class LabelRefused(FlowMartError):
    """The carrier will not carry this parcel (destination not served, address refused…)."""

    code = "label_refused"
    status = 422
    title = "The carrier refused the label"


class ParcelAlreadyPickedUp(LabelRefused):
    """The label cannot be voided: the carrier has already scanned the parcel (it is on its way)."""

    code = "parcel_picked_up"
    status = 409
    title = "The carrier has already picked the parcel up"


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
    # picked_up | in_transit | out_for_delivery | ready_for_pickup | delivery_failed | delivered | returned_to_sender
    code: str
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


class InstructionRefused(FlowMartError):
    """The carrier will not take this delivery instruction (not offered for this parcel, or too late)."""

    code = "delivery_instruction_refused"
    status = 409
    title = "The carrier cannot do that for this parcel"


# What a customer (or the shop) may ask the carrier after a failed delivery attempt.
REDELIVER, PICKUP, RETURN = "redeliver", "pickup", "return"
CUSTOMER_CHOICES = (REDELIVER, PICKUP)


@dataclass(frozen=True)
class DeliveryOptions:
    """What the carrier says after a failed attempt: its new estimate (``None``: it gives none) and what the
    customer may choose (a subset of ``CUSTOMER_CHOICES``; ``pickup_point`` says where a pick-up would be)."""

    estimated_delivery_date: date | None = None
    choices: tuple[str, ...] = ()
    pickup_point: str = ""


class Carrier(Protocol):
    """Adapters subclass this. The three label/tracking methods are required; the delivery-failure methods
    have safe defaults (no estimate, no choices, instructions refused) for carriers that offer none."""

    code: str

    def rates(self, *, parcel: Parcel, timeout_seconds: float) -> list[CarrierRate]: ...

    def create_label(self, *, parcel: Parcel) -> Label: ...

    def track(self, *, tracking_number: str) -> list[TrackingUpdate]: ...

    def cancel(self, *, tracking_number: str, label_id: str) -> None: ...

    def delivery_options(self, *, tracking_number: str) -> DeliveryOptions:
        """After a failed attempt: the carrier's new estimate and the customer's choices. Default: none of either
        (the shop then estimates by its own rule, and offers no choice)."""
        return DeliveryOptions()

    def delivery_instruct(self, *, tracking_number: str, instruction: str) -> date | None:
        """Tell the carrier what to do with a parcel after a failed attempt (``REDELIVER``, ``PICKUP`` or, from the
        shop, ``RETURN``); returns the carrier's new estimate if it gives one. Must be safe to repeat.
        Default: refused (the carrier takes no instructions)."""
        raise InstructionRefused(f"The {self.code} carrier takes no delivery instructions.")


class PushesWebhooks(Protocol):
    """An adapter whose carrier pushes tracking in its own signed format (the sandbox's is in ``webhooks.py``)."""

    def webhook_updates(self, *, body: bytes, headers: Mapping[str, str]) -> list[TrackingUpdate]:
        """Verify one delivery (raises ``WebhookRejected``) and return the tracking updates in it."""
        ...
