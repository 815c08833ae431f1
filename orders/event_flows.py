"""The checkout saga and the order's fulfilment as flows for the event catalog (flowmart/events/flows.py):
docs/architecture.md §Saga in steps. ``flow_check`` holds every event → service step to a real handler."""

from __future__ import annotations

from flowmart.events.flows import Flow, Next, Step
from inventory.events import InventoryCommitted, InventoryReleased, InventoryReserved
from orders.events import (
    OrderCompleted,
    OrderConfirmed,
    OrderFailed,
    OrderPaymentFailed,
    OrderPlaced,
    OrderShipped,
    UserCheckedOut,
)
from payments.events import PaymentCaptured, PaymentProcessed, PaymentVoided
from shipping.events import DeliveryFailed, ShipmentCreated, ShipmentDelivered, ShipmentDispatched

CHECKOUT_SAGA = Flow(
    id="CheckoutSaga",
    name="Checkout saga",
    summary="From basket to confirmed order, orchestrated by orders (orders/saga.py); a failed step compensates.",
    steps=(
        Step("customer", "Customer checks out", actor="Customer", next=(Next("create", "POST /api/v1/checkout/"),)),
        Step(
            "create",
            "Validate and create the order (pending)",
            service="orders",
            next=(Next("checked-out", "publishes"), Next("placed", "publishes"), Next("reserve", "1. reserve stock")),
        ),
        Step("checked-out", "User checked out", event=UserCheckedOut),
        Step("placed", "Order placed", event=OrderPlaced),
        Step(
            "reserve",
            "Reserve stock (stock_reserve, all or nothing)",
            service="inventory",
            next=(Next("reserved", "publishes"), Next("authorize", "2. authorize the card")),
        ),
        Step("reserved", "Inventory reserved", event=InventoryReserved),
        Step(
            "authorize",
            "Authorize the card (payment_authorize, idempotency key per round)",
            service="payments",
            next=(
                Next("processed", "publishes"),
                Next("confirm", "3. authorized"),
                Next("compensate", "declined or down"),
            ),
        ),
        Step("processed", "Payment processed", event=PaymentProcessed),
        Step(
            "confirm",
            "Confirm the order and clear the basket",
            service="orders",
            next=(Next("confirmed", "publishes"),),
        ),
        Step(
            "confirmed",
            "Order confirmed",
            event=OrderConfirmed,
            next=(Next("ship", "creates shipments"), Next("notify", "emails the customer")),
        ),
        Step("ship", "Shipping: the order fulfilment flow", service="shipping"),
        Step("notify", "Order confirmation", service="notifications"),
        Step(
            "compensate",
            "Compensate: void, release, fail (or wait for a payment retry)",
            service="orders",
            next=(Next("payment-failed", "card declined"), Next("failed", "gateway down"), Next("release", "releases")),
        ),
        Step("payment-failed", "Order payment failed", event=OrderPaymentFailed),
        Step("failed", "Order failed", event=OrderFailed),
        Step("release", "Release the stock", service="inventory", next=(Next("released", "publishes"),)),
        Step("released", "Inventory released", event=InventoryReleased),
    ),
)

ORDER_FULFILMENT = Flow(
    id="OrderFulfilment",
    name="Order fulfilment",
    summary="From a confirmed order to a delivered, completed one, through shipping's events (orders/fulfilment.py).",
    steps=(
        Step(
            "confirmed", "Order confirmed", event=OrderConfirmed, next=(Next("create-shipments", "create_shipments"),)
        ),
        Step(
            "create-shipments",
            "Create shipments per warehouse, buy labels, dispatch",
            service="shipping",
            next=(
                Next("created", "publishes"),
                Next("dispatched", "the carrier picked it up"),
                Next("delivered", "the carrier delivered"),
                Next("delivery-failed", "an attempt failed"),
            ),
        ),
        Step("created", "Shipment created", event=ShipmentCreated, next=(Next("fulfilling", "mark_fulfilling"),)),
        Step("fulfilling", "Order → fulfilling", service="orders"),
        Step(
            "dispatched",
            "Shipment dispatched",
            event=ShipmentDispatched,
            next=(Next("settle", "capture_on_dispatch"), Next("tell-dispatched", "shipment_dispatched")),
        ),
        Step(
            "settle",
            "Order → shipped; settle: capture the total, void the rest, commit the stock",
            service="orders",
            next=(Next("shipped", "publishes"), Next("capture", "captures"), Next("commit", "commits")),
        ),
        Step("shipped", "Order shipped", event=OrderShipped),
        Step(
            "capture",
            "Capture exactly the order's total",
            service="payments",
            next=(Next("captured", "publishes"), Next("voided", "unneeded authorizations")),
        ),
        Step("captured", "Payment captured", event=PaymentCaptured),
        Step("voided", "Payment voided", event=PaymentVoided),
        Step("commit", "Commit the reserved stock", service="inventory", next=(Next("committed", "publishes"),)),
        Step("committed", "Inventory committed", event=InventoryCommitted),
        Step("tell-dispatched", "Dispatch email / SMS / push", service="notifications"),
        Step(
            "delivered",
            "Shipment delivered",
            event=ShipmentDelivered,
            next=(Next("complete", "complete_on_delivery"), Next("feedback", "schedule_feedback_on_delivery")),
        ),
        Step("complete", "Order → delivered → completed", service="orders", next=(Next("completed", "publishes"),)),
        Step("completed", "Order completed", event=OrderCompleted),
        Step("feedback", "Delivery email and CSAT request", service="notifications"),
        Step(
            "delivery-failed",
            "Delivery failed",
            event=DeliveryFailed,
            next=(Next("flag", "flag_failed_delivery"), Next("tell-failed", "delivery_failed_alert")),
        ),
        Step("flag", "Order flagged for staff; refund if returned to sender", service="orders"),
        Step("tell-failed", "Failed-delivery message with the customer's options", service="notifications"),
    ),
)

FLOWS = [CHECKOUT_SAGA, ORDER_FULFILMENT]
