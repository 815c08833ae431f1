"""Events the inventory app publishes.

Correlation id: the reservation's ``reference`` (the order number for checkout) for
reservation events; ``sku:<SKU>`` for stock-level events without a business reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowmart.events.base import Event


@dataclass(frozen=True, kw_only=True)
class InventoryReserved(Event):
    """Stock for every line is held for ``reference`` until ``expires_at``.

    ``lines``: [{sku, quantity, allocations: [{warehouse_code, quantity}]}].
    """

    name = "InventoryReserved"
    producer = "inventory"

    reference: str
    expires_at: str
    lines: list[dict]


@dataclass(frozen=True, kw_only=True)
class InventoryReleased(Event):
    """A reservation gave its stock back (``reason``: e.g. order_cancelled, expired, payment_failed)."""

    name = "InventoryReleased"
    producer = "inventory"

    reference: str
    reason: str
    expired: bool
    lines: list[dict]


@dataclass(frozen=True, kw_only=True)
class InventoryCommitted(Event):
    """A reservation became a sale: the units left the warehouses."""

    name = "InventoryCommitted"
    producer = "inventory"

    reference: str
    lines: list[dict]


@dataclass(frozen=True, kw_only=True)
class InventoryAdjusted(Event):
    """On-hand stock of one SKU in one warehouse changed (receipt, sale, adjustment, return, correction, transfer)."""

    name = "InventoryAdjusted"
    producer = "inventory"

    sku: str
    warehouse_code: str
    quantity: int  # signed change of on-hand
    reason: str
    reference: str
    on_hand: int
    available: int  # this warehouse, after the change
    total_available: int  # all warehouses, after the change


@dataclass(frozen=True, kw_only=True)
class LowStock(Event):
    """Available stock of a SKU in one warehouse fell to or below its threshold (crossing, not every change)."""

    name = "LowStock"
    producer = "inventory"

    sku: str
    product_name: str
    warehouse_code: str
    available: int
    threshold: int


@dataclass(frozen=True, kw_only=True)
class OutOfStock(Event):
    """No warehouse has a sellable unit of the SKU any more."""

    name = "OutOfStock"
    producer = "inventory"

    sku: str
    product_name: str
    product_slug: str


@dataclass(frozen=True, kw_only=True)
class BackInStock(Event):
    """A SKU that was out of stock can be bought again."""

    name = "BackInStock"
    producer = "inventory"

    sku: str
    product_name: str
    product_slug: str
    available: int


@dataclass(frozen=True, kw_only=True)
class EarlyAccessOpened(Event):
    """A new arrival opened to members with early access; everyone may buy it from ``on_sale_at``.

    ``early_access_at`` / ``on_sale_at``: ISO 8601 UTC. ``price_min_minor``: the cheapest active variant.
    """

    name = "EarlyAccessOpened"
    producer = "inventory"

    product_name: str
    product_slug: str
    skus: list[str]
    early_access_at: str
    on_sale_at: str
    price_min_minor: int
    currency: str
