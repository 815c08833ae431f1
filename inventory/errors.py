"""The errors inventory answers with: each a problem document (code, status, title)."""

from __future__ import annotations

from flowmart.errors import Conflict, FlowMartError, NotFound


class InsufficientStock(FlowMartError):
    code = "insufficient_stock"
    status = 409
    title = "Not enough stock"

    def __init__(self, shortages: list[dict]) -> None:
        skus = ", ".join(f"{s['sku']} (requested {s['requested']}, available {s['available']})" for s in shortages)
        super().__init__(f"Not enough stock for {skus}.", shortages=shortages)
        self.shortages = shortages


class InvalidQuantity(FlowMartError):
    code = "invalid_quantity"
    status = 400
    title = "Invalid quantity"


class UnknownSku(FlowMartError):
    code = "unknown_sku"
    status = 400
    title = "Unknown SKU"


class UnknownWarehouse(FlowMartError):
    code = "unknown_warehouse"
    status = 400
    title = "Unknown warehouse"


class InvalidAdjustmentReason(FlowMartError):
    code = "invalid_reason"
    status = 400
    title = "Not an adjustment reason"


class SameWarehouse(FlowMartError):
    code = "same_warehouse"
    status = 400
    title = "A transfer needs two different warehouses"


class InvalidPrice(FlowMartError):
    code = "invalid_price"
    status = 400
    title = "Invalid price"


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    title = "No reservation for that reference"


class ReservationNotActive(Conflict):
    code = "reservation_not_active"
    title = "The reservation was already released or expired"
