"""The order timeline in words a customer understands.

The timeline is made of domain events from every app (``UserCheckedOut``,
``InventoryReserved``, ``ShipmentDispatched`` …). Staff and the API see them
as they are; the customer's order page shows these sentences instead, and
leaves out the plumbing (notifications, payment initiation) that says nothing
new to them.
"""

from __future__ import annotations

from collections.abc import Callable

from flowmart.money import money_from_payload


def _money(payload: dict, field: str = "amount_minor") -> str:
    return str(money_from_payload(payload, field) or "")


def _tracking(payload: dict) -> str:
    number = payload.get("tracking_number")
    return f" (tracking {number})" if number else ""


def _payment(payload: dict) -> str:
    card = f" on {payload.get('brand', '').title()} ending {payload['last4']}" if payload.get("last4") else ""
    if payload.get("status") == "failed":
        reason = (payload.get("decline_code") or payload.get("reason") or "").replace("_", " ")
        return f"Payment declined{card}" + (f": {reason}" if reason else "")
    captured = payload.get("captured_minor") or 0
    verb = "charged" if captured else "approved"
    return f"Payment of {_money(payload)} {verb}{card}"


_TEXT: dict[str, Callable[[dict], str]] = {
    "UserCheckedOut": lambda p: "Checkout started",
    "OrderPlaced": lambda p: f"Order placed: {_money(p, 'total_minor')}",
    "InventoryReserved": lambda p: "Items set aside for you",
    "InventoryReleased": lambda p: "Items released back to stock",
    "PaymentProcessed": _payment,
    "PaymentCaptured": lambda p: f"Payment of {_money(p, 'captured_minor') or _money(p)} charged",
    "PaymentVoided": lambda p: "Payment hold released",
    "PaymentRefunded": lambda p: f"Refund of {_money(p)} sent",
    "OrderConfirmed": lambda p: "Order confirmed",
    "OrderPaymentFailed": lambda p: "Payment failed: you can pay again from this page",
    "OrderOnHold": lambda p: "Order on hold: " + (p.get("reason") or "we are waiting for stock"),
    "OrderAmended": lambda p: "Order changed: " + "; ".join(p.get("changes") or []),
    "OrderCancelled": lambda p: "Order cancelled" + (f": {p['reason']}" if p.get("reason") else ""),
    "OrderFailed": lambda p: "Order could not be completed",
    "ShipmentCreated": lambda p: "Parcel packed and labelled" + _tracking(p),
    "ShipmentRejected": lambda p: "We could not ship this order: " + (p.get("reason") or "carrier refused"),
    "ShipmentDispatched": lambda p: "Parcel handed to the carrier" + _tracking(p),
    "ShipmentInTransit": lambda p: "Parcel on its way" + (f", at {p['location']}" if p.get("location") else ""),
    "DeliveryFailed": lambda p: (
        (
            "Parcel returned to sender after a failed delivery"
            if p.get("returned_to_sender")
            else "Delivery attempt failed"
        )
        + (f": {p['reason']}" if p.get("reason") else "")
    ),
    "DeliveryRescheduled": lambda p: f"New estimated delivery: {p.get('estimated_delivery_date', '')}",
    "ShipmentDelivered": lambda p: "Parcel delivered",
    "ShipmentCancelled": lambda p: "Parcel cancelled",
    "OrderShipped": lambda p: "Order shipped",
    "OrderCompleted": lambda p: "Order complete",
    "ReturnInitiated": lambda p: f"Return {p.get('rma_number', '')} requested",
    "ReturnApproved": lambda p: f"Return {p.get('rma_number', '')} approved",
    "ReturnRejected": lambda p: f"Return {p.get('rma_number', '')} declined",
    "ReturnReceived": lambda p: f"Return {p.get('rma_number', '')} received",
    "OrderRefunded": lambda p: f"Refund of {_money(p)} sent",
    # Chargebacks: the customer (or their bank) started them; said plainly, without blame.
    "ChargebackOpened": lambda p: f"Your bank queried the payment of {_money(p)}; we are answering them",
    "ChargebackResolved": lambda p: (
        f"Your bank closed its query: the {_money(p)} stays with us"
        if p.get("outcome") == "won"
        else f"Your bank closed its query: {_money(p)} returned to you by your bank"
    ),
}


CUSTOMER_EVENTS = frozenset(_TEXT)  # the events a customer's timeline shows (the page and the API alike)


def describe(*, name: str, payload: dict) -> str | None:
    """The customer's sentence for one timeline event, or None when it is not theirs to see."""
    text = _TEXT.get(name)
    return text(payload) if text else None
