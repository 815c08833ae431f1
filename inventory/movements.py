"""Stock movements by staff and tools: adjust, receive, transfer, and returned units back on the shelf."""

from __future__ import annotations

from django.db import transaction

from inventory.allocation import StockLine
from inventory.errors import (
    InsufficientStock,
    InvalidAdjustmentReason,
    InvalidQuantity,
    SameWarehouse,
    UnknownSku,
    UnknownWarehouse,
)
from inventory.models import Reservation as ReservationRecord
from inventory.models import (
    ReservationAllocation,
    Stock,
    StockMovement,
    Variant,
    Warehouse,
)
from inventory.stock_book import (
    StockBook,
    demand_by_sku,
    stock_row_ensure,
    variant_by_sku,
    warehouse_by_code,
)

Reason = StockMovement.Reason


# --- Stock movements (staff, receiving, returns) ---------------------------------------


def _already_recorded(
    *, reference: str, reason: str, sku: str, warehouse_code: str | None = None, note: str | None = None
) -> bool:
    if not reference:
        return False
    movements = StockMovement.objects.filter(reference=reference, reason=reason, stock__variant__sku=sku)
    if warehouse_code:
        movements = movements.filter(stock__warehouse__code=warehouse_code)
    if note is not None:
        movements = movements.filter(note=note[:255])
    return movements.exists()


def stock_adjust(
    *,
    sku: str,
    warehouse_code: str,
    quantity: int,
    reason: str = Reason.ADJUSTMENT,
    note: str = "",
    reference: str = "",
    by=None,
) -> Stock:
    """Change on-hand stock by a signed ``quantity`` with a ledger reason.

    Refused (``InsufficientStock``) if it would leave fewer units than are reserved. With a
    ``reference``, the same (reference, reason, SKU) is applied once.
    """
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity == 0:
        raise InvalidQuantity("The quantity must be a non-zero whole number.")
    if reason not in Reason.values or reason == Reason.TRANSFER:
        raise InvalidAdjustmentReason(f"{reason!r} is not an adjustment reason.")
    variant, warehouse = variant_by_sku(sku), warehouse_by_code(warehouse_code)
    with transaction.atomic():
        stock_row_ensure(variant, warehouse)
        book = StockBook(variant_ids=[variant.pk], correlation_id=reference or f"sku:{sku}")
        stock = book.row(variant_id=variant.pk, warehouse_id=warehouse.pk)
        if _already_recorded(reference=reference, reason=reason, sku=sku, warehouse_code=warehouse.code):
            return stock
        if stock.available + quantity < 0:
            raise InsufficientStock([{"sku": sku, "requested": -quantity, "available": max(stock.available, 0)}])
        book.move(stock, quantity=quantity, reason=reason, reference=reference, note=note, by=by)
        book.close()
        return stock


def stock_receive(
    *, sku: str, warehouse_code: str, quantity: int, reference: str = "", note: str = "", by=None
) -> Stock:
    """Goods arrived at a warehouse (ledger reason ``receipt``)."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity("A receipt needs a positive quantity.")
    return stock_adjust(
        sku=sku,
        warehouse_code=warehouse_code,
        quantity=quantity,
        reason=Reason.RECEIPT,
        note=note,
        reference=reference,
        by=by,
    )


def stock_transfer(
    *,
    sku: str,
    from_warehouse_code: str,
    to_warehouse_code: str,
    quantity: int,
    note: str = "",
    reference: str = "",
    by=None,
) -> None:
    """Move sellable units between warehouses: two ``transfer`` ledger rows in one transaction."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InvalidQuantity("A transfer needs a positive quantity.")
    if from_warehouse_code == to_warehouse_code:
        raise SameWarehouse("Pick two different warehouses.")
    variant = variant_by_sku(sku)
    source, target = warehouse_by_code(from_warehouse_code), warehouse_by_code(to_warehouse_code)
    with transaction.atomic():
        stock_row_ensure(variant, source)
        stock_row_ensure(variant, target)
        book = StockBook(variant_ids=[variant.pk], correlation_id=reference or f"sku:{sku}")
        out = book.row(variant_id=variant.pk, warehouse_id=source.pk)
        into = book.row(variant_id=variant.pk, warehouse_id=target.pk)
        if out.available < quantity:
            raise InsufficientStock([{"sku": sku, "requested": quantity, "available": max(out.available, 0)}])
        text = note or f"{source.code} → {target.code}"
        book.move(out, quantity=-quantity, reason=Reason.TRANSFER, reference=reference, note=text, by=by)
        book.move(into, quantity=quantity, reason=Reason.TRANSFER, reference=reference, note=text, by=by)
        book.close()


def stock_return(
    *,
    reference: str,
    lines: list[StockLine],
    warehouse_code: str | None = None,
    note: str = "customer return",
    write_off: bool = False,
) -> None:
    """Returned units come back (ledger reason ``return``); once per (reference, note, SKU), so each return of
    an order (its RMA in ``note``) counts once.

    ``write_off``: the units came back damaged and are not for sale: the ``return`` row is followed by a
    ``return_damaged`` row taking them off again, so the ledger shows both facts, on-hand does not change
    and the ledger still sums to on-hand.

    Warehouse: ``warehouse_code`` if given, else the one the SKU was sold from under a
    reservation with the same reference, else the highest-priority active warehouse.
    """
    demand = demand_by_sku(lines)
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=demand)}
    unknown = sorted(set(demand) - set(variants))
    if unknown:
        raise UnknownSku(f"There is no SKU {', '.join(unknown)}.")
    fixed = warehouse_by_code(warehouse_code) if warehouse_code else None
    sold_from = {
        a.stock.variant.sku: a.stock.warehouse
        for a in ReservationAllocation.objects.filter(
            reservation__reference=reference, reservation__state=ReservationRecord.State.COMMITTED
        )
        .select_related("stock__variant", "stock__warehouse")
        .order_by("id")  # several allocations of one sku: the last one made names the warehouse
    }
    default = Warehouse.objects.filter(is_active=True).order_by("priority", "id").first()
    reason = Reason.RETURN_DAMAGED if write_off else Reason.RETURN
    with transaction.atomic():
        targets = {}
        for sku in demand:
            warehouse = fixed or sold_from.get(sku) or default
            if warehouse is None:
                raise UnknownWarehouse("There is no active warehouse to return stock to.")
            stock_row_ensure(variants[sku], warehouse)
            targets[sku] = warehouse
        book = StockBook(variant_ids=[v.pk for v in variants.values()], correlation_id=reference)
        for sku, qty in demand.items():
            if _already_recorded(reference=reference, reason=reason, sku=sku, note=note):
                continue
            stock = book.row(variant_id=variants[sku].pk, warehouse_id=targets[sku].pk)
            book.move(stock, quantity=qty, reason=Reason.RETURN, reference=reference, note=note)
            if write_off:
                book.move(stock, quantity=-qty, reason=Reason.RETURN_DAMAGED, reference=reference, note=note)
        book.close()
