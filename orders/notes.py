"""Notes on an order: things that happened to it without changing its status (an amendment, a refund issue
resolved). They are not transitions; the order's history shows them alongside its transitions, by time."""

from __future__ import annotations

from orders.models import Order, OrderNote


def order_note_add(*, order: Order, kind: str, actor: str, by=None, text: str = "") -> OrderNote:
    """Record a note on ``order`` (inside the caller's transaction)."""
    return OrderNote.objects.create(
        order=order,
        kind=kind,
        status=order.status,
        actor=actor,
        by=by if getattr(by, "pk", None) is not None else None,  # anonymous users are nobody
        text=text[:500],
    )
