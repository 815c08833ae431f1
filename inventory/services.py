"""Commands of the inventory app: everything that changes its state. The one door other apps, the API,
the admin, handlers and tasks use; the code lives in ``reservations`` (checkout), ``movements`` (staff,
receiving, returns) and ``catalog`` (prices, imports), over ``stock_book`` (lock, change, record, publish)
and ``errors``.

For other apps (docs/contracts.md): ``stock_reserve`` (``stock_reserve_new`` inside the transaction that creates
the reference), ``stock_reservation_amend``, ``stock_release``, ``stock_commit``, ``stock_return``; for staff and tools: ``stock_adjust``,
``stock_receive``, ``stock_transfer``, ``stock_reservations_expire``, ``variant_price_set``,
``product_catalog_changed``, ``early_access_announce_due`` (beat).

Concurrency: every command that touches stock locks *all* stock rows of the SKUs involved,
in one ``SELECT … ORDER BY id FOR UPDATE``. Every transaction therefore takes its row locks in
the same global order, so concurrent multi-line reservations cannot deadlock, and the
availability a command computes cannot change under it, so nothing is ever oversold.
Commands that start from a reservation lock the reservation row first, then its stock.
"""

from inventory.allocation import Allocation, Reservation, StockLine
from inventory.catalog import (
    category_catalog_changed,
    early_access_announce_due,
    product_catalog_changed,
    stock_set_on_hand,
    variant_price_set,
)
from inventory.errors import (
    InsufficientStock,
    InvalidAdjustmentReason,
    InvalidPrice,
    InvalidQuantity,
    ReservationNotActive,
    ReservationNotFound,
    SameWarehouse,
    UnknownSku,
    UnknownWarehouse,
)
from inventory.movements import stock_adjust, stock_receive, stock_return, stock_transfer
from inventory.reservations import (
    stock_commit,
    stock_release,
    stock_reservation_amend,
    stock_reservations_expire,
    stock_reserve,
    stock_reserve_new,
)

__all__ = [
    "Allocation",
    "InsufficientStock",
    "InvalidAdjustmentReason",
    "InvalidPrice",
    "InvalidQuantity",
    "Reservation",
    "ReservationNotActive",
    "ReservationNotFound",
    "SameWarehouse",
    "StockLine",
    "UnknownSku",
    "UnknownWarehouse",
    "category_catalog_changed",
    "early_access_announce_due",
    "product_catalog_changed",
    "stock_adjust",
    "stock_commit",
    "stock_receive",
    "stock_release",
    "stock_reservation_amend",
    "stock_reservations_expire",
    "stock_reserve",
    "stock_reserve_new",
    "stock_set_on_hand",
    "stock_return",
    "stock_transfer",
    "variant_price_set",
]
