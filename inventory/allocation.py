"""Where stock for a reservation comes from: the allocation rule, as a pure function.

1. One warehouse that can ship every line, the first by (priority, id), takes everything:
   one parcel is cheaper and faster than two.
2. Otherwise each line is split across warehouses in priority order, taking what each has.
3. If some line cannot be covered by all warehouses together, nothing is allocated and the
   shortages are reported, one per short SKU.

Also the plain value types other apps receive from the reservation services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StockLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Allocation:
    sku: str
    warehouse_code: str
    quantity: int


@dataclass(frozen=True)
class Reservation:
    reference: str
    expires_at: datetime
    allocations: list[Allocation]
    state: str = "active"

    def allocations_for(self, sku: str) -> list[Allocation]:
        return [a for a in self.allocations if a.sku == sku]


@dataclass(frozen=True)
class Candidate:
    """Sellable stock of one SKU in one warehouse. ``key`` identifies the stock row to the caller."""

    key: int
    sku: str
    warehouse_code: str
    warehouse_priority: int
    warehouse_id: int
    available: int


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int

    def as_dict(self) -> dict:
        return {"sku": self.sku, "requested": self.requested, "available": self.available}


def allocate(
    *, demand: dict[str, int], candidates: list[Candidate]
) -> tuple[list[tuple[Candidate, int]], list[Shortage]]:
    """Return ``(plan, shortages)``: plan is [(candidate, quantity)], empty when anything is short."""
    by_sku: dict[str, list[Candidate]] = {sku: [] for sku in demand}
    for c in candidates:
        if c.sku in by_sku and c.available > 0:
            by_sku[c.sku].append(c)
    for rows in by_sku.values():
        rows.sort(key=lambda c: (c.warehouse_priority, c.warehouse_id))

    shortages = [
        Shortage(sku=sku, requested=qty, available=sum(c.available for c in by_sku[sku]))
        for sku, qty in demand.items()
        if sum(c.available for c in by_sku[sku]) < qty
    ]
    if shortages:
        return [], shortages

    # Rule 1: the first warehouse (by priority) that can ship every line alone.
    warehouses = sorted({(c.warehouse_priority, c.warehouse_id) for c in candidates})
    for _, warehouse_id in warehouses:
        picks = []
        for sku, qty in demand.items():
            here = next((c for c in by_sku[sku] if c.warehouse_id == warehouse_id and c.available >= qty), None)
            if here is None:
                break
            picks.append((here, qty))
        else:
            return picks, []

    # Rule 2: split each line by warehouse priority.
    plan: list[tuple[Candidate, int]] = []
    for sku, qty in demand.items():
        remaining = qty
        for c in by_sku[sku]:
            if remaining == 0:
                break
            take = min(c.available, remaining)
            plan.append((c, take))
            remaining -= take
    return plan, []
