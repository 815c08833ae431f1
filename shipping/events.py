"""Events the shipping app publishes. Correlation id: the order number (``FM-…``).

Every event carries ``order_number``, ``user_id`` (``User.public_id`` as a string, or
``None`` for guests) and ``customer_email`` so that orders and notifications can act
without asking shipping (``_ShippingEvent``); a parcel's events also ``shipment_number``, a
return's ``rma_number``. ``lines`` items are ``{"sku", "name", "quantity"}`` unless a
docstring says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class _ShippingEvent(Event):
    """Whose parcel or return it is (every shipping event but the staff-only ``DeliveryInstructionRefused``)."""

    producer = "shipping"

    order_number: str
    user_id: str | None
    customer_email: str


@dataclass(frozen=True, kw_only=True)
class _ShipmentEvent(_ShippingEvent):
    shipment_number: str


@dataclass(frozen=True, kw_only=True)
class _ReturnEvent(_ShippingEvent):
    rma_number: str


@dataclass(frozen=True, kw_only=True)
class ShipmentCreated(_ShipmentEvent):
    """The carrier issued a label: the parcel has a tracking number and waits for pick-up.

    ``kind`` is ``"order"`` (from ``OrderConfirmed``) or ``"exchange"`` (replacement of a
    return; then ``rma_number`` is set).
    """

    name = "ShipmentCreated"

    kind: str
    rma_number: str | None
    warehouse_code: str
    method_code: str
    carrier: str
    tracking_number: str
    tracking_url: str
    lines: list[dict]


@dataclass(frozen=True, kw_only=True)
class ShipmentRejected(_ShipmentEvent):
    """Shipping cannot ship (part of) the order: the checkout saga compensates.

    ``code``: ``"unsupported_destination"`` (no zone serves the country) or
    ``"label_refused"`` (the carrier refused the label). ``shipment_number`` is empty
    when the order was refused before any shipment existed.
    """

    name = "ShipmentRejected"

    code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ShipmentDispatched(_ShipmentEvent):
    """The parcel left the warehouse (handed to the carrier): capture the payment, commit the stock."""

    name = "ShipmentDispatched"

    kind: str
    warehouse_code: str
    carrier: str
    tracking_number: str
    tracking_url: str
    lines: list[dict]
    dispatched_at: str


@dataclass(frozen=True, kw_only=True)
class ShipmentInTransit(_ShipmentEvent):
    """The carrier reports the parcel moving (also after a failed attempt: a re-attempt)."""

    name = "ShipmentInTransit"

    tracking_number: str
    tracking_url: str
    location: str
    reattempt: bool


@dataclass(frozen=True, kw_only=True)
class ShipmentDelivered(_ShipmentEvent):
    """The parcel was delivered. ``all_delivered``: every live shipment of the order is delivered."""

    name = "ShipmentDelivered"

    kind: str
    tracking_number: str
    delivered_at: str
    all_delivered: bool


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(_ShipmentEvent):
    """A delivery attempt failed (``returned_to_sender`` False: the carrier re-attempts),
    or the carrier gave up and returns the parcel (``returned_to_sender`` True)."""

    name = "DeliveryFailed"

    tracking_number: str
    attempt: int
    reason: str
    returned_to_sender: bool


@dataclass(frozen=True, kw_only=True)
class DeliveryInstructionRefused(Event):
    """The carrier refused the shop's own instruction for a parcel after a failed attempt (today: return it
    after the last allowed attempt). Staff must arrange it with the carrier; nothing is refunded until then."""

    name = "DeliveryInstructionRefused"
    producer = "shipping"

    order_number: str
    shipment_number: str
    attempt: int
    instruction: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class DeliveryRescheduled(_ShipmentEvent):
    """After a failed attempt: the new delivery estimate and what the customer may choose.

    ``estimated_delivery_date`` is an ISO date, ``estimate_source`` ``"carrier"`` (the carrier's) or
    ``"shop_rule"`` (the shop's rule: the carrier gave none). ``choices`` is a subset of
    ``["redeliver", "pickup"]`` (empty: the carrier offers none, or has already re-attempted);
    ``pickup_point`` says where a pick-up would be.
    """

    name = "DeliveryRescheduled"

    tracking_number: str
    tracking_url: str
    attempt: int
    reason: str
    estimated_delivery_date: str
    estimate_source: str
    choices: list[str]
    pickup_point: str


@dataclass(frozen=True, kw_only=True)
class ShipmentCancelled(_ShipmentEvent):
    """A shipment that had not been dispatched was cancelled (order cancelled or amended)."""

    name = "ShipmentCancelled"

    reason: str


@dataclass(frozen=True, kw_only=True)
class ReturnInitiated(_ReturnEvent):
    """The customer asked to return delivered items; staff will approve or reject.

    ``lines``: [{sku, name, quantity, unit_price_minor}].
    """

    name = "ReturnInitiated"

    reason: str
    lines: list[dict]
    currency: str


@dataclass(frozen=True, kw_only=True)
class ReturnApproved(_ReturnEvent):
    """Staff approved the return; the customer gets a return label."""

    name = "ReturnApproved"

    return_tracking_number: str


@dataclass(frozen=True, kw_only=True)
class ReturnRejected(_ReturnEvent):
    """Staff rejected the return request."""

    name = "ReturnRejected"

    reason: str


@dataclass(frozen=True, kw_only=True)
class ReturnReceived(_ReturnEvent):
    """The returned parcel arrived and was inspected; the decision says what happens next.

    ``decision``: ``"refund"`` (payments refund ``refund_minor``; then orders calls
    ``return_mark_refunded``) or ``"exchange"`` (``refund_minor`` is 0; orders ships the
    replacements via ``shipment_create_for_exchange`` and calls ``return_mark_exchanged``).
    ``lines``: [{sku, name, quantity, unit_price_minor, charged_minor, refund_minor, condition,
    refundable, not_refundable_reason, replacement_sku}] — ``charged_minor`` is what the customer paid
    for the line's units after every discount, ``refund_minor`` what is refunded for them, ``condition``
    the inspection's ``resellable`` (restocked) / ``damaged`` (written off) / ``missing`` (neither);
    ``replacement_sku`` is ``""`` for refunds. ``refund_minor`` = ``goods_refund_minor`` +
    ``shipping_refund_minor`` (the shipping charge, by the policy in docs/orders.md §Returns and exchanges).
    ``replacement_skus``: the replacement sku of each line, in order.
    ``warehouse_code``: where the goods were returned to (inventory restocks there).
    """

    name = "ReturnReceived"

    decision: str
    lines: list[dict]
    refund_minor: int
    currency: str
    replacement_skus: list[str]
    warehouse_code: str
    goods_refund_minor: int = 0
    shipping_refund_minor: int = 0
    exchange_charge_minor: int = 0  # an exchange for dearer variants: orders charges it once they are reserved
