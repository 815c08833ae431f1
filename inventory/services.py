"""Commands of the inventory app: everything that changes its state.

For other apps (docs/contracts.md): ``stock_reserve``, ``stock_reservation_amend``,
``stock_release``, ``stock_commit``, ``stock_return``; for staff and tools: ``stock_adjust``,
``stock_receive``, ``stock_transfer``, ``stock_reservations_expire``, ``variant_price_set``,
``product_catalog_changed``.

Concurrency: every command that touches stock locks *all* stock rows of the SKUs involved,
in one ``SELECT … ORDER BY id FOR UPDATE``. Every transaction therefore takes its row locks in
the same global order, so concurrent multi-line reservations cannot deadlock, and the
availability a command computes cannot change under it, so nothing is ever oversold.
Commands that start from a reservation lock the reservation row first, then its stock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from flowmart.errors import Conflict, FlowMartError, NotFound
from flowmart.events.publisher import publish
from flowmart.transitions import transition_apply, transition_record
from inventory import catalog_cache
from inventory.allocation import Allocation, Candidate, Reservation, StockLine, allocate
from inventory.events import (
    BackInStock,
    InventoryAdjusted,
    InventoryCommitted,
    InventoryReleased,
    InventoryReserved,
    LowStock,
    OutOfStock,
)
from inventory.models import (
    Category,
    Product,
    ReservationAllocation,
    Stock,
    StockMovement,
    Variant,
    Warehouse,
)
from inventory.models import Reservation as ReservationRecord
from inventory.selectors import reservation_info, stock_status

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
    "product_catalog_changed",
    "stock_adjust",
    "stock_commit",
    "stock_receive",
    "stock_release",
    "stock_reservation_amend",
    "stock_reservations_expire",
    "stock_reserve",
    "stock_return",
    "stock_transfer",
    "variant_price_set",
]

Reason = StockMovement.Reason
ADVISORY_NAMESPACE = 7301  # first key of inventory's advisory locks (second: hash of the reference)


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


# --- The stock book: lock, change, record, publish -------------------------------------


@dataclass
class _Move:
    stock: Stock
    quantity: int
    reason: str
    reference: str
    note: str
    by: object


class _StockBook:
    """All stock rows of some variants, locked; collects changes and writes them out in ``close()``."""

    def __init__(self, *, variant_ids: Iterable[int], correlation_id: str) -> None:
        self.correlation_id = correlation_id
        rows = list(
            Stock.objects.filter(variant_id__in=set(variant_ids))
            .select_related("variant__product__category", "warehouse")
            .order_by("id")
            .select_for_update(of=("self",))
        )
        self.rows: dict[int, Stock] = {s.pk: s for s in rows}
        self.before = {s.pk: s.available for s in rows}
        self.total_before = self._totals()
        self.moves: list[_Move] = []
        self.dirty: set[int] = set()

    def _totals(self) -> dict[int, int]:
        totals: dict[int, int] = defaultdict(int)
        for s in self.rows.values():
            totals[s.variant_id] += s.available if s.warehouse.is_active else 0
        return totals

    def candidates(self) -> list[Candidate]:
        return [
            Candidate(
                key=s.pk,
                sku=s.variant.sku,
                warehouse_code=s.warehouse.code,
                warehouse_priority=s.warehouse.priority,
                warehouse_id=s.warehouse_id,
                available=s.available,
            )
            for s in self.rows.values()
            if s.warehouse.is_active and s.variant.is_active and s.variant.product.is_active
        ]

    def row(self, *, variant_id: int, warehouse_id: int) -> Stock | None:
        return next(
            (s for s in self.rows.values() if s.variant_id == variant_id and s.warehouse_id == warehouse_id), None
        )

    def hold(self, stock: Stock, quantity: int) -> None:
        stock.reserved += quantity
        self.dirty.add(stock.pk)

    def move(self, stock: Stock, *, quantity: int, reason: str, reference: str = "", note: str = "", by=None) -> None:
        stock.on_hand += quantity
        self.dirty.add(stock.pk)
        self.moves.append(_Move(stock, quantity, reason, reference, note, by))

    def close(self) -> None:
        """Save the changed rows, write the ledger, publish events, invalidate the catalog cache."""
        now = timezone.now()
        for pk in sorted(self.dirty):
            s = self.rows[pk]
            s.updated_at = now
            s.save(update_fields=["on_hand", "reserved", "updated_at"])
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    stock=m.stock,
                    reason=m.reason,
                    quantity=m.quantity,
                    on_hand_after=m.stock.on_hand,
                    reference=m.reference,
                    note=m.note[:255],
                    created_by=m.by if getattr(m.by, "pk", None) else None,
                )
                for m in self.moves
            ]
        )
        totals = self._totals()
        for m in self.moves:
            publish(
                InventoryAdjusted(
                    correlation_id=m.reference or self.correlation_id,
                    sku=m.stock.variant.sku,
                    warehouse_code=m.stock.warehouse.code,
                    quantity=m.quantity,
                    reason=m.reason,
                    reference=m.reference,
                    on_hand=m.stock.on_hand,
                    available=m.stock.available,
                    total_available=totals[m.stock.variant_id],
                )
            )
        deps: set[str] = set()
        for pk in sorted(self.dirty):
            s = self.rows[pk]
            threshold = s.low_stock_threshold
            if s.warehouse.is_active and self.before[pk] > threshold >= s.available:
                publish(
                    LowStock(
                        correlation_id=f"sku:{s.variant.sku}",
                        sku=s.variant.sku,
                        product_name=s.variant.product.name,
                        warehouse_code=s.warehouse.code,
                        available=s.available,
                        threshold=threshold,
                    )
                )
        changed_variants = {self.rows[pk].variant for pk in self.dirty}
        for variant in sorted(changed_variants, key=lambda v: v.pk):
            product = variant.product
            deps.add(catalog_cache.product_dep(product.slug))
            before, after = self.total_before[variant.pk], totals[variant.pk]
            if before > 0 >= after:
                publish(
                    OutOfStock(
                        correlation_id=f"sku:{variant.sku}",
                        sku=variant.sku,
                        product_name=product.name,
                        product_slug=product.slug,
                    )
                )
            elif before <= 0 < after:
                publish(
                    BackInStock(
                        correlation_id=f"sku:{variant.sku}",
                        sku=variant.sku,
                        product_name=product.name,
                        product_slug=product.slug,
                        available=after,
                    )
                )
        deps |= self._list_deps(changed_variants, totals)
        catalog_cache.invalidate(deps)

    def _list_deps(self, variants: set[Variant], totals: dict[int, int]) -> set[str]:
        """Lists show each product's stock status (in stock / low / out), so they change only when it does."""
        products = {v.product_id: v.product for v in variants}
        delta: dict[int, int] = defaultdict(int)
        for v in variants:
            if v.is_active:
                delta[v.product_id] += totals[v.pk] - self.total_before[v.pk]
        after = dict(
            Stock.objects.filter(variant__product_id__in=products, variant__is_active=True, warehouse__is_active=True)
            .values("variant__product_id")
            .annotate(n=Sum(F("on_hand") - F("reserved")))
            .values_list("variant__product_id", "n")
        )
        deps: set[str] = set()
        for pid, product in products.items():
            now = after.get(pid) or 0
            if stock_status(now - delta[pid]) != stock_status(now):
                deps |= {catalog_cache.LISTS, *_category_deps(product.category)}
        return deps


def _demand(lines: Iterable[StockLine]) -> dict[str, int]:
    demand: dict[str, int] = {}
    for line in lines:
        qty = line.quantity
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise InvalidQuantity(f"Quantity for {line.sku} must be a positive whole number, not {qty!r}.")
        demand[line.sku] = demand.get(line.sku, 0) + qty
    if not demand:
        raise InvalidQuantity("A reservation needs at least one line.")
    return demand


def _variant_ids(skus: Iterable[str]) -> dict[str, int]:
    return dict(Variant.objects.filter(sku__in=set(skus)).values_list("sku", "id"))


def _lock_reference(reference: str) -> None:
    """Serialize commands on one reservation reference (transaction-scoped advisory lock).

    Taken first by every reference-scoped command, before any row lock, so a reserve racing a
    release of the same reference queues instead of deadlocking on the unique index.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ADVISORY_NAMESPACE, reference])


def _live(reference: str) -> ReservationRecord | None:
    return ReservationRecord.objects.filter(
        reference=reference, state__in=[ReservationRecord.State.ACTIVE, ReservationRecord.State.COMMITTED]
    ).first()


def _lines_payload(allocations: list[Allocation]) -> list[dict]:
    lines: dict[str, dict] = {}
    for a in allocations:
        line = lines.setdefault(a.sku, {"sku": a.sku, "quantity": 0, "allocations": []})
        line["quantity"] += a.quantity
        line["allocations"].append({"warehouse_code": a.warehouse_code, "quantity": a.quantity})
    return list(lines.values())


def _allocate_into(book: _StockBook, record: ReservationRecord, demand: dict[str, int]) -> None:
    plan, shortages = allocate(demand=demand, candidates=book.candidates())
    if shortages:
        raise InsufficientStock([s.as_dict() for s in shortages])
    allocations = []
    for candidate, qty in plan:
        stock = book.rows[candidate.key]
        book.hold(stock, qty)
        allocations.append(ReservationAllocation(reservation=record, stock=stock, quantity=qty))
    ReservationAllocation.objects.bulk_create(allocations)


# --- Reservations (checkout) -----------------------------------------------------------


def _reserved(record: ReservationRecord) -> Reservation:
    """Announce the reservation as it now stands (caller owns the transaction)."""
    info = reservation_info(record)
    publish(
        InventoryReserved(
            correlation_id=record.reference,
            reference=record.reference,
            expires_at=info.expires_at.isoformat(),
            lines=_lines_payload(info.allocations),
        )
    )
    return info


def stock_reserve(*, reference: str, lines: list[StockLine], ttl_minutes: int = 30) -> Reservation:
    """Hold stock for every line, or for none (``InsufficientStock`` lists every short SKU).

    Idempotent: while a reservation for ``reference`` is active or committed, calling again
    returns it unchanged.
    """
    demand = _demand(lines)
    if not isinstance(ttl_minutes, int) or ttl_minutes < 1:
        raise InvalidQuantity("A reservation lasts at least one minute.")
    existing = _live(reference)
    if existing is not None:
        return reservation_info(existing)
    try:
        with transaction.atomic():
            _lock_reference(reference)
            existing = _live(reference)  # a concurrent call with the same reference may have won the lock
            if existing is not None:
                return reservation_info(existing)
            book = _StockBook(variant_ids=_variant_ids(demand).values(), correlation_id=reference)
            record = ReservationRecord.objects.create(
                reference=reference, expires_at=timezone.now() + timedelta(minutes=ttl_minutes)
            )
            _allocate_into(book, record, demand)
            transition_record(record, from_state="", reason="reserved")
            book.close()
            return _reserved(record)
    except IntegrityError:
        existing = _live(reference)
        if existing is None:
            raise
        return reservation_info(existing)


def stock_reservation_amend(*, reference: str, lines: list[StockLine]) -> Reservation:
    """Replace the lines of the active reservation, all or nothing (the old hold stays on failure)."""
    demand = _demand(lines)
    with transaction.atomic():
        _lock_reference(reference)
        record = (
            ReservationRecord.objects.select_for_update()
            .filter(reference=reference, state=ReservationRecord.State.ACTIVE)
            .first()
        )
        if record is None:
            raise ReservationNotFound(f"No active reservation for {reference}.")
        old = list(record.allocations.select_related("stock__variant"))
        variant_ids = set(_variant_ids(demand).values()) | {a.stock.variant_id for a in old}
        book = _StockBook(variant_ids=variant_ids, correlation_id=reference)
        for a in old:
            book.hold(book.rows[a.stock_id], -a.quantity)
        record.allocations.all().delete()
        _allocate_into(book, record, demand)
        transition_record(record, from_state=record.state, reason="amended")
        book.close()
        return _reserved(record)


def _release(record: ReservationRecord, *, reason: str, expired: bool, by=None) -> None:
    """Give back the stock of a locked, active reservation (caller owns the transaction)."""
    allocations = list(record.allocations.select_related("stock__variant", "stock__warehouse"))
    book = _StockBook(variant_ids={a.stock.variant_id for a in allocations}, correlation_id=record.reference)
    for a in allocations:
        book.hold(book.rows[a.stock_id], -a.quantity)
    transition_apply(record, "expire" if expired else "release", reason=reason, by=by)
    book.close()
    publish(
        InventoryReleased(
            correlation_id=record.reference,
            reference=record.reference,
            reason=reason,
            expired=expired,
            lines=_lines_payload(reservation_info(record).allocations),
        )
    )


def stock_release(*, reference: str, reason: str, by=None) -> None:
    """Release the active reservation of ``reference``; a no-op when nothing is reserved."""
    with transaction.atomic():
        _lock_reference(reference)
        record = (
            ReservationRecord.objects.select_for_update()
            .filter(reference=reference, state=ReservationRecord.State.ACTIVE)
            .first()
        )
        if record is None:
            return
        _release(record, reason=reason, expired=False, by=by)


def stock_reservations_expire(*, now: datetime | None = None) -> int:
    """Release every active reservation past its expiry; returns how many were released."""
    now = now or timezone.now()
    due = list(
        ReservationRecord.objects.filter(state=ReservationRecord.State.ACTIVE, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("id", "reference")[:1000]
    )
    released = 0
    for pk, reference in due:
        with transaction.atomic():
            _lock_reference(reference)
            record = (
                ReservationRecord.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=ReservationRecord.State.ACTIVE, expires_at__lte=now)
                .first()
            )
            if record is None:
                continue
            _release(record, reason="expired", expired=True)
            released += 1
    return released


def stock_commit(*, reference: str) -> None:
    """The reservation becomes a sale: reserved units leave on-hand stock (ledger reason ``sale``).

    Idempotent: committing a committed reservation does nothing.
    """
    with transaction.atomic():
        _lock_reference(reference)
        record = _live(reference)
        if record is not None:
            record = ReservationRecord.objects.select_for_update().get(pk=record.pk)
        if record is None:
            latest = ReservationRecord.objects.filter(reference=reference).first()
            if latest is None:
                raise ReservationNotFound(f"No reservation for {reference}.")
            raise ReservationNotActive(f"The reservation for {reference} was {latest.state}.")
        if record.state == ReservationRecord.State.COMMITTED:
            return
        if record.state != ReservationRecord.State.ACTIVE:
            raise ReservationNotActive(f"The reservation for {reference} was {record.state}.")
        allocations = list(record.allocations.select_related("stock__variant"))
        book = _StockBook(variant_ids={a.stock.variant_id for a in allocations}, correlation_id=reference)
        for a in allocations:
            stock = book.rows[a.stock_id]
            book.hold(stock, -a.quantity)
            book.move(stock, quantity=-a.quantity, reason=Reason.SALE, reference=reference)
        transition_apply(record, "commit", reason="sold")
        book.close()
        publish(
            InventoryCommitted(
                correlation_id=reference,
                reference=reference,
                lines=_lines_payload(reservation_info(record).allocations),
            )
        )


# --- Stock movements (staff, receiving, returns) ---------------------------------------


def _warehouse(code: str) -> Warehouse:
    warehouse = Warehouse.objects.filter(code=code).first()
    if warehouse is None:
        raise UnknownWarehouse(f"There is no warehouse {code!r}.")
    return warehouse


def _variant(sku: str) -> Variant:
    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        raise UnknownSku(f"There is no SKU {sku!r}.")
    return variant


def _ensure_row(variant: Variant, warehouse: Warehouse) -> None:
    Stock.objects.get_or_create(variant=variant, warehouse=warehouse)


def _already_recorded(*, reference: str, reason: str, sku: str, warehouse_code: str | None = None) -> bool:
    if not reference:
        return False
    movements = StockMovement.objects.filter(reference=reference, reason=reason, stock__variant__sku=sku)
    if warehouse_code:
        movements = movements.filter(stock__warehouse__code=warehouse_code)
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
    variant, warehouse = _variant(sku), _warehouse(warehouse_code)
    with transaction.atomic():
        _ensure_row(variant, warehouse)
        book = _StockBook(variant_ids=[variant.pk], correlation_id=reference or f"sku:{sku}")
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
    variant = _variant(sku)
    source, target = _warehouse(from_warehouse_code), _warehouse(to_warehouse_code)
    with transaction.atomic():
        _ensure_row(variant, source)
        _ensure_row(variant, target)
        book = _StockBook(variant_ids=[variant.pk], correlation_id=reference or f"sku:{sku}")
        out = book.row(variant_id=variant.pk, warehouse_id=source.pk)
        into = book.row(variant_id=variant.pk, warehouse_id=target.pk)
        if out.available < quantity:
            raise InsufficientStock([{"sku": sku, "requested": quantity, "available": max(out.available, 0)}])
        text = note or f"{source.code} → {target.code}"
        book.move(out, quantity=-quantity, reason=Reason.TRANSFER, reference=reference, note=text, by=by)
        book.move(into, quantity=quantity, reason=Reason.TRANSFER, reference=reference, note=text, by=by)
        book.close()


def stock_return(*, reference: str, lines: list[StockLine], warehouse_code: str | None = None) -> None:
    """Put returned units back on the shelf (ledger reason ``return``); once per (reference, SKU).

    Warehouse: ``warehouse_code`` if given, else the one the SKU was sold from under a
    reservation with the same reference, else the highest-priority active warehouse.
    """
    demand = _demand(lines)
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=demand)}
    unknown = sorted(set(demand) - set(variants))
    if unknown:
        raise UnknownSku(f"There is no SKU {', '.join(unknown)}.")
    fixed = _warehouse(warehouse_code) if warehouse_code else None
    sold_from = {
        a.stock.variant.sku: a.stock.warehouse
        for a in ReservationAllocation.objects.filter(
            reservation__reference=reference, reservation__state=ReservationRecord.State.COMMITTED
        ).select_related("stock__variant", "stock__warehouse")
    }
    default = Warehouse.objects.filter(is_active=True).order_by("priority", "id").first()
    with transaction.atomic():
        targets = {}
        for sku in demand:
            warehouse = fixed or sold_from.get(sku) or default
            if warehouse is None:
                raise UnknownWarehouse("There is no active warehouse to return stock to.")
            _ensure_row(variants[sku], warehouse)
            targets[sku] = warehouse
        book = _StockBook(variant_ids=[v.pk for v in variants.values()], correlation_id=reference)
        for sku, qty in demand.items():
            if _already_recorded(reference=reference, reason=Reason.RETURN, sku=sku):
                continue
            stock = book.row(variant_id=variants[sku].pk, warehouse_id=targets[sku].pk)
            book.move(stock, quantity=qty, reason=Reason.RETURN, reference=reference, note="customer return")
        book.close()


# --- Catalog ---------------------------------------------------------------------------


def _category_deps(category: Category) -> set[str]:
    return {catalog_cache.category_dep(c.slug) for c in [*category.ancestors(), category]}


def product_catalog_changed(
    *, product: Product, old_slug: str | None = None, old_category: Category | None = None
) -> None:
    """A product, its variants or prices changed (admin, import): drop exactly the cached entries that show it."""
    deps = {catalog_cache.LISTS, catalog_cache.product_dep(product.slug), *_category_deps(product.category)}
    if old_slug:
        deps.add(catalog_cache.product_dep(old_slug))
    if old_category:
        deps |= _category_deps(old_category)
    catalog_cache.invalidate(deps)


def category_catalog_changed(*, category: Category, old_slug: str | None = None) -> None:
    """A category was renamed, moved or added: lists, the tree, and its products' pages show it."""
    deps = {catalog_cache.LISTS, *_category_deps(category)}
    if old_slug:
        deps.add(catalog_cache.category_dep(old_slug))
    deps |= {catalog_cache.product_dep(slug) for slug in category.products.values_list("slug", flat=True)}
    catalog_cache.invalidate(deps)


def variant_price_set(*, sku: str, price_minor: int) -> Variant:
    if not isinstance(price_minor, int) or isinstance(price_minor, bool) or price_minor < 0:
        raise InvalidPrice("A price is a whole number of minor units, zero or more.")
    with transaction.atomic():
        variant = Variant.objects.select_for_update(of=("self",)).select_related("product").filter(sku=sku).first()
        if variant is None:
            raise UnknownSku(f"There is no SKU {sku!r}.")
        variant.price_minor = price_minor
        variant.save(update_fields=["price_minor"])
        product_catalog_changed(product=variant.product)
        return variant


def stock_set_on_hand(
    *,
    sku: str,
    warehouse_code: str,
    on_hand: int,
    low_stock_threshold: int | None = None,
    note: str = "",
    by=None,
) -> Stock:
    """Make on-hand stock equal a counted figure (ledger reason ``correction`` for the difference)."""
    if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
        raise InvalidQuantity("On-hand stock is a whole number, zero or more.")
    variant, warehouse = _variant(sku), _warehouse(warehouse_code)
    with transaction.atomic():
        _ensure_row(variant, warehouse)
        book = _StockBook(variant_ids=[variant.pk], correlation_id=f"sku:{sku}")
        stock = book.row(variant_id=variant.pk, warehouse_id=warehouse.pk)
        if on_hand < stock.reserved:
            raise InsufficientStock([{"sku": sku, "requested": stock.reserved, "available": on_hand}])
        if low_stock_threshold is not None and low_stock_threshold != stock.low_stock_threshold:
            stock.low_stock_threshold = low_stock_threshold
            stock.save(update_fields=["low_stock_threshold"])
        if on_hand != stock.on_hand:
            book.move(stock, quantity=on_hand - stock.on_hand, reason=Reason.CORRECTION, note=note, by=by)
        book.close()
        return stock
