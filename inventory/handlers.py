"""Reactions of the inventory app to other apps' events (autodiscovered)."""

from flowmart.events.registry import subscribe
from inventory import services
from orders.events import OrderCancelled


@subscribe(OrderCancelled)
def release_stock_of_cancelled_order(event: OrderCancelled) -> None:
    """Whatever is still held for a cancelled order goes back on sale (no-op if nothing is)."""
    services.stock_release(reference=event.order_number, reason="order_cancelled")
