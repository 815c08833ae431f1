"""The stock book: every change of stock goes through it (lock, change, record in the ledger, publish).

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

from django.db.models import F, Q, Sum
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.locks import advisory_xact_lock
from inventory import catalog_cache
from inventory.allocation import Allocation, Candidate, StockLine, allocate
from inventory.errors import InsufficientStock, InvalidQuantity, UnknownSku, UnknownWarehouse
from inventory.events import (
    BackInStock,
    InventoryAdjusted,
    LowStock,
    OutOfStock,
)
from inventory.models import (
    Category,
    ReservationAllocation,
    Stock,
    StockMovement,
    Variant,
    Warehouse,
)
from inventory.models import Reservation as ReservationRecord
from inventory.selectors import stock_status

Reason = StockMovement.Reason
ADVISORY_NAMESPACE = 7301  # first key of inventory's advisory locks (second: hash of the reference)


# --- The stock book: lock, change, record, publish -------------------------------------


@dataclass
class StockMove:
    stock: Stock
    quantity: int
    reason: str
    reference: str
    note: str
    by: object


class StockBook:
    """All stock rows of some variants, locked; collects changes and writes them out in ``close()``."""

    def __init__(self, *, correlation_id: str, variant_ids: Iterable[int] = (), skus: Iterable[str] = ()) -> None:
        """Lock the stock rows of the variants named by id or by SKU (a reservation names SKUs: one query)."""
        self.correlation_id = correlation_id
        rows = list(
            Stock.objects.filter(Q(variant_id__in=set(variant_ids)) | Q(variant__sku__in=set(skus)))
            .select_related("variant__product__category", "warehouse")
            .order_by("id")
            .select_for_update(of=("self",))
        )
        self.rows: dict[int, Stock] = {s.pk: s for s in rows}
        self.before = {s.pk: s.available for s in rows}
        self.total_before = self._totals()
        self.moves: list[StockMove] = []
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
        self.moves.append(StockMove(stock, quantity, reason, reference, note, by))

    def close(self) -> None:
        """Save the changed rows, write the ledger, publish events, invalidate the catalog cache."""
        now = timezone.now()
        changed = [self.rows[pk] for pk in sorted(self.dirty)]
        for s in changed:
            s.updated_at = now
        Stock.objects.bulk_update(changed, ["on_hand", "reserved", "updated_at"])  # one UPDATE for every row
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
                deps |= {catalog_cache.LISTS, *category_deps(product.category)}
        return deps


def demand_by_sku(lines: Iterable[StockLine]) -> dict[str, int]:
    demand: dict[str, int] = {}
    for line in lines:
        qty = line.quantity
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise InvalidQuantity(f"Quantity for {line.sku} must be a positive whole number, not {qty!r}.")
        demand[line.sku] = demand.get(line.sku, 0) + qty
    if not demand:
        raise InvalidQuantity("A reservation needs at least one line.")
    return demand


def variant_ids_by_sku(skus: Iterable[str]) -> dict[str, int]:
    return dict(Variant.objects.filter(sku__in=set(skus)).values_list("sku", "id"))


def reference_lock(reference: str) -> None:
    """Serialize commands on one reservation reference (transaction-scoped advisory lock).

    Taken first by every reference-scoped command, before any row lock, so a reserve racing a
    release of the same reference queues instead of deadlocking on the unique index.
    """
    advisory_xact_lock(ADVISORY_NAMESPACE, reference)


def reservation_live(reference: str) -> ReservationRecord | None:
    return ReservationRecord.objects.filter(
        reference=reference, state__in=[ReservationRecord.State.ACTIVE, ReservationRecord.State.COMMITTED]
    ).first()


def lines_payload(allocations: list[Allocation]) -> list[dict]:
    lines: dict[str, dict] = {}
    for a in allocations:
        line = lines.setdefault(a.sku, {"sku": a.sku, "quantity": 0, "allocations": []})
        line["quantity"] += a.quantity
        line["allocations"].append({"warehouse_code": a.warehouse_code, "quantity": a.quantity})
    return list(lines.values())


def allocation_plan(book: StockBook, demand: dict[str, int]) -> list[tuple[Candidate, int]]:
    """Where each unit comes from, or ``InsufficientStock`` before anything is written."""
    plan, shortages = allocate(demand=demand, candidates=book.candidates())
    if shortages:
        raise InsufficientStock([s.as_dict() for s in shortages])
    return plan


def allocate_into(
    book: StockBook,
    record: ReservationRecord,
    demand: dict[str, int],
    *,
    plan: list[tuple[Candidate, int]] | None = None,
) -> list[Allocation]:
    """Hold the stock for ``demand`` on ``record`` (one insert for its allocation rows); returns the allocations."""
    plan = allocation_plan(book, demand) if plan is None else plan
    rows = []
    for candidate, qty in plan:
        stock = book.rows[candidate.key]
        book.hold(stock, qty)
        rows.append(ReservationAllocation(reservation=record, stock=stock, quantity=qty))
    ReservationAllocation.objects.bulk_create(rows)
    return [Allocation(sku=c.sku, warehouse_code=c.warehouse_code, quantity=qty) for c, qty in plan]


# --- Lookups every command shares -------------------------------------------------------
def warehouse_by_code(code: str) -> Warehouse:
    warehouse = Warehouse.objects.filter(code=code).first()
    if warehouse is None:
        raise UnknownWarehouse(f"There is no warehouse {code!r}.")
    return warehouse


def variant_by_sku(sku: str) -> Variant:
    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        raise UnknownSku(f"There is no SKU {sku!r}.")
    return variant


def stock_row_ensure(variant: Variant, warehouse: Warehouse) -> None:
    Stock.objects.get_or_create(variant=variant, warehouse=warehouse)


def category_deps(category: Category) -> set[str]:
    return {catalog_cache.category_dep(c.slug) for c in [*category.ancestors(), category]}
