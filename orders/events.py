"""Events the orders app publishes. Correlation id: the order number (``FM-…``).

Payloads carry what other apps need later (docs/architecture.md §Layers: nothing points
up the stack, data travels in the event), so shipping and notifications never
have to import orders.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class UserCheckedOut(Event):
    """A basket passed validation and checkout began."""

    name = "UserCheckedOut"
    producer = "orders"

    basket_id: str
    user_id: str | None
    customer_email: str
    total_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(Event):
    """The order exists (pending) with its lines, prices and address snapshotted."""

    name = "OrderPlaced"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    total_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(Event):
    """Stock reserved and payment authorized: the order is confirmed and can be shipped.

    ``lines``: [{sku, name, quantity, unit_price_minor, line_total_minor, weight_grams,
    allocations: [{warehouse_code, quantity}]}]; ``shipping_address``: {name, line1, line2,
    city, region, postal_code, country, phone}.
    """

    name = "OrderConfirmed"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    customer_name: str
    currency: str
    subtotal_minor: int
    shipping_minor: int
    discount_minor: int
    total_minor: int
    shipping_method: str
    shipping_address: dict
    lines: list[dict]
    placed_at: str


@dataclass(frozen=True, kw_only=True)
class OrderAmended(Event):
    """Quantities, lines or the address changed before fulfilment; lines are the new full set."""

    name = "OrderAmended"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    currency: str
    total_minor: int
    shipping_address: dict
    lines: list[dict]
    changes: list[str]


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(Event):
    """The order was cancelled and whatever the saga had done was compensated."""

    name = "OrderCancelled"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    reason: str
    cancelled_by: str  # customer | staff | system
    refunded_minor: int  # money back already; a refund waiting for Finance approval is not in it
    currency: str
    refund_pending_minor: int = 0  # refund asked for, waiting for Finance (OrderRefunded follows when it goes through)


@dataclass(frozen=True, kw_only=True)
class OrderOnHold(Event):
    """Stock turned out short: the order waits; the customer is told of the delay."""

    name = "OrderOnHold"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    reason: str
    expected_delay_days: int


@dataclass(frozen=True, kw_only=True)
class OrderPaymentFailed(Event):
    """Payment was declined; the customer may retry until ``retry_until``."""

    name = "OrderPaymentFailed"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    decline_code: str
    retry_until: str
    total_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderCompleted(Event):
    """Every shipment of the order was delivered."""

    name = "OrderCompleted"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str


@dataclass(frozen=True, kw_only=True)
class OrderFailed(Event):
    """Checkout could not complete (stock short, payment refused, gateway down); the saga compensated.

    ``code``: the machine-readable reason (``insufficient_stock``, ``gateway_unavailable``, …).
    """

    name = "OrderFailed"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    reason: str
    code: str


@dataclass(frozen=True, kw_only=True)
class OrderShipped(Event):
    """The first parcel left the warehouse: the payment was captured and the stock committed."""

    name = "OrderShipped"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    captured_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderRefunded(Event):
    """Money went back to the customer: for a received return (``rma_number``) or, with ``rma_number`` "",
    a cancellation refund that had waited for Finance approval (published when it went through)."""

    name = "OrderRefunded"
    producer = "orders"

    order_number: str
    user_id: str | None
    customer_email: str
    rma_number: str
    refunded_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderLinkRequested(Event):
    """A guest looked its order up by number and email: the link to it goes to that email (and only there).

    The link itself is not in the event (it opens the order): notifications makes it when it sends."""

    name = "OrderLinkRequested"
    producer = "orders"

    order_number: str
    customer_email: str
