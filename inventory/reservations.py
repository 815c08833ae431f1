"""Reservations for checkout: reserve all or nothing, amend, release, expire, commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.notes import note_add
from flowmart.transitions import transition_apply, transition_record
from inventory.allocation import Allocation, Reservation, StockLine
from inventory.errors import InvalidQuantity, ReservationNotActive, ReservationNotFound
from inventory.events import (
    InventoryCommitted,
    InventoryReleased,
    InventoryReserved,
)
from inventory.models import Reservation as ReservationRecord
from inventory.models import (
    ReservationNote,
    StockMovement,
)
from inventory.selectors import reservation_info
from inventory.stock_book import (
    StockBook,
    allocate_into,
    allocation_plan,
    demand_by_sku,
    lines_payload,
    reference_lock,
    reservation_live,
    variant_ids_by_sku,
)

Reason = StockMovement.Reason


# --- Reservations (checkout) -----------------------------------------------------------


def _reserved(record: ReservationRecord, allocations: list[Allocation] | None = None) -> Reservation:
    """Announce the reservation as it now stands (caller owns the transaction). ``allocations``: the ones just
    written, in order (else they are read)."""
    if allocations is None:
        info = reservation_info(record)
    else:
        info = Reservation(
            reference=record.reference, expires_at=record.expires_at, allocations=allocations, state=record.state
        )
    publish(
        InventoryReserved(
            correlation_id=record.reference,
            reference=record.reference,
            expires_at=info.expires_at.isoformat(),
            lines=lines_payload(info.allocations),
        )
    )
    return info


def stock_reserve(*, reference: str, lines: list[StockLine], ttl_minutes: int = 30) -> Reservation:
    """Hold stock for every line, or for none (``InsufficientStock`` lists every short SKU).

    Idempotent: while a reservation for ``reference`` is active or committed, calling again
    returns it unchanged.
    """
    demand = demand_by_sku(lines)
    if not isinstance(ttl_minutes, int) or ttl_minutes < 1:
        raise InvalidQuantity("A reservation lasts at least one minute.")
    existing = reservation_live(reference)
    if existing is not None:
        return reservation_info(existing)
    try:
        with transaction.atomic():
            reference_lock(reference)
            existing = reservation_live(reference)  # a concurrent call with the same reference may have won the lock
            if existing is not None:
                return reservation_info(existing)
            return _reservation_create(reference=reference, demand=demand, ttl_minutes=ttl_minutes)
    except IntegrityError:
        existing = reservation_live(reference)
        if existing is None:
            raise
        return reservation_info(existing)


def stock_reserve_new(*, reference: str, lines: list[StockLine], ttl_minutes: int = 30) -> Reservation:
    """``stock_reserve`` for a reference nothing was ever reserved for (an order being created), in the caller's
    transaction, which commits the reservation with whatever the reference names.

    No other command can know the reference before that transaction commits, so there is no earlier reservation
    to look up and no lock on the reference to take; a reference used before after all breaks the one-live-
    reservation constraint (``IntegrityError``) instead of holding stock twice. All or nothing:
    ``InsufficientStock`` is raised before anything is written, and the caller's transaction must roll back.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("stock_reserve_new runs inside the transaction that creates its reference")
    demand = demand_by_sku(lines)
    if not isinstance(ttl_minutes, int) or ttl_minutes < 1:
        raise InvalidQuantity("A reservation lasts at least one minute.")
    return _reservation_create(reference=reference, demand=demand, ttl_minutes=ttl_minutes)


def _reservation_create(*, reference: str, demand: dict[str, int], ttl_minutes: int) -> Reservation:
    """Lock the SKUs' stock, plan, and write the reservation, its allocations, its log row and its event."""
    book = StockBook(skus=demand, correlation_id=reference)
    plan = allocation_plan(book, demand)  # a shortage raises here, before anything is written
    record = ReservationRecord.objects.create(
        reference=reference, expires_at=timezone.now() + timedelta(minutes=ttl_minutes)
    )
    allocations = allocate_into(book, record, demand, plan=plan)
    transition_record(record, from_state="", reason="reserved")
    book.close()
    return _reserved(record, allocations)


def _active_locked(reference: str) -> ReservationRecord | None:
    """The active reservation of ``reference``, locked after the reference itself (caller owns the transaction)."""
    reference_lock(reference)
    return (
        ReservationRecord.objects.select_for_update()
        .filter(reference=reference, state=ReservationRecord.State.ACTIVE)
        .first()
    )


def stock_reservation_amend(*, reference: str, lines: list[StockLine]) -> Reservation:
    """Replace the lines of the active reservation, all or nothing (the old hold stays on failure)."""
    demand = demand_by_sku(lines)
    with transaction.atomic():
        record = _active_locked(reference)
        if record is None:
            raise ReservationNotFound(f"No active reservation for {reference}.")
        old = list(record.allocations.select_related("stock__variant").order_by("id"))
        variant_ids = set(variant_ids_by_sku(demand).values()) | {a.stock.variant_id for a in old}
        book = StockBook(variant_ids=variant_ids, correlation_id=reference)
        for a in old:
            book.hold(book.rows[a.stock_id], -a.quantity)
        record.allocations.all().delete()
        allocate_into(book, record, demand)
        note_add(record, kind=ReservationNote.Kind.AMEND, text="amended")
        book.close()
        return _reserved(record)


def _release(record: ReservationRecord, *, reason: str, expired: bool, by=None) -> None:
    """Give back the stock of a locked, active reservation (caller owns the transaction)."""
    allocations = list(record.allocations.select_related("stock__variant", "stock__warehouse").order_by("id"))
    book = StockBook(variant_ids={a.stock.variant_id for a in allocations}, correlation_id=record.reference)
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
            lines=lines_payload(reservation_info(record).allocations),
        )
    )


def stock_release(*, reference: str, reason: str, by=None) -> None:
    """Release the active reservation of ``reference``; a no-op when nothing is reserved."""
    with transaction.atomic():
        record = _active_locked(reference)
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
            reference_lock(reference)
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
        reference_lock(reference)
        record = reservation_live(reference)
        if record is not None:
            record = ReservationRecord.objects.select_for_update().get(pk=record.pk)
        if record is None:
            latest = ReservationRecord.objects.filter(reference=reference).order_by("-created_at", "-id").first()
            if latest is None:
                raise ReservationNotFound(f"No reservation for {reference}.")
            raise ReservationNotActive(f"The reservation for {reference} was {latest.state}.")
        if record.state == ReservationRecord.State.COMMITTED:
            return
        if record.state != ReservationRecord.State.ACTIVE:
            raise ReservationNotActive(f"The reservation for {reference} was {record.state}.")
        allocations = list(record.allocations.select_related("stock__variant").order_by("id"))
        book = StockBook(variant_ids={a.stock.variant_id for a in allocations}, correlation_id=reference)
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
                lines=lines_payload(reservation_info(record).allocations),
            )
        )
