"""Reactions of the notifications app to other apps' events (autodiscovered).

One small function per reaction: pick the recipient and the facts the
message needs from the payload, then call a service. Handlers only write
rows; sending is queued after commit.
"""

from __future__ import annotations

from django.conf import settings

from flowmart.events.registry import subscribe
from flowmart.users.events import UserSignedUp
from inventory.events import BackInStock, EarlyAccessOpened, LowStock, OutOfStock
from notifications import back_in_stock, new_arrivals, services
from notifications.services import recipient_resolve
from orders import services as order_services
from orders.events import (
    OrderAmended,
    OrderCancelled,
    OrderCompleted,
    OrderConfirmed,
    OrderFailed,
    OrderLinkRequested,
    OrderOnHold,
    OrderPaymentFailed,
)
from payments.events import ChargebackOpened, ChargebackResolved, PaymentRefunded
from shipping.events import (
    DeliveryFailed,
    DeliveryInstructionRefused,
    DeliveryRescheduled,
    ReturnApproved,
    ReturnInitiated,
    ReturnReceived,
    ReturnRejected,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentInTransit,
)
from subscriptions.events import (
    InvoicePaymentFailed,
    SubscriptionCancellationScheduled,
    SubscriptionPaused,
    SubscriptionPlanChanged,
    SubscriptionRenewed,
    SubscriptionResumed,
    UserSubscriptionCancelled,
    UserSubscriptionStarted,
)


def _order_url(event) -> str:
    """The order page; a guest's order (no account on the event) gets its signed link, which opens it in any
    browser (orders' ``order_link_url``)."""
    if not getattr(event, "user_id", None):
        return order_services.order_link_url(order_number=event.order_number)
    return f"{settings.SITE_URL}/orders/{event.order_number}/"


def _return_url(event) -> str:
    if not getattr(event, "user_id", None):  # a guest has no returns page: the order shows its return
        return _order_url(event)
    return f"{settings.SITE_URL}/returns/{event.rma_number}/"


def _subscriptions_url() -> str:
    return f"{settings.SITE_URL}/membership/manage/"


def _customer(event, name: str = ""):
    return recipient_resolve(user_id=event.user_id, email=event.customer_email, name=name)


def _facts(event, *names: str, **extra) -> dict:
    """The message's context: the event's fields ``names`` under their own names, then ``extra``."""
    return {**{name: getattr(event, name) for name in names}, **extra}


def _notify(kind: str, event, context: dict, recipient=None) -> None:
    services.notifications_create_for_event(
        kind=kind, event=event, recipient=recipient or _customer(event), context=context
    )


# --- account -------------------------------------------------------------------
@subscribe(UserSignedUp)
def welcome_new_customer(event: UserSignedUp) -> None:
    recipient = recipient_resolve(user_id=event.user_id, email=event.email, name=event.full_name)
    _notify("welcome", event, {"full_name": event.full_name, "email": event.email}, recipient)


# --- orders --------------------------------------------------------------------
@subscribe(OrderConfirmed)
def order_confirmed(event: OrderConfirmed) -> None:
    phone = (event.shipping_address or {}).get("phone", "")
    recipient = recipient_resolve(
        user_id=event.user_id, email=event.customer_email, phone=phone, name=event.customer_name
    )
    context = {
        **{k: v for k, v in event.payload().items() if k not in ("user_id",)},
        "order_url": _order_url(event),
    }
    _notify("order_confirmed", event, context, recipient)


@subscribe(OrderLinkRequested)
def order_link_requested(event: OrderLinkRequested) -> None:
    """The guest's order lookup: the link goes to the email the order was placed with, nowhere else."""
    recipient = recipient_resolve(user_id=None, email=event.customer_email)
    context = _facts(
        event,
        "order_number",
        order_url=_order_url(event),
        link_days=settings.ORDER_LINK_MAX_AGE_DAYS,
    )
    _notify("order_link", event, context, recipient)


@subscribe(OrderPaymentFailed)
def order_payment_failed(event: OrderPaymentFailed) -> None:
    context = _facts(
        event,
        "order_number",
        "total_minor",
        "currency",
        "decline_code",
        "retry_until",
        retry_url=_order_url(event) + ("pay/" if event.user_id else ""),
    )
    _notify("order_payment_failed", event, context)


@subscribe(OrderOnHold)
def order_on_hold(event: OrderOnHold) -> None:
    context = _facts(event, "order_number", "reason", "expected_delay_days", order_url=_order_url(event))
    _notify("order_on_hold", event, context)


@subscribe(OrderCancelled)
def order_cancelled(event: OrderCancelled) -> None:
    context = _facts(event, "order_number", "reason", "cancelled_by", "refunded_minor", "currency")
    _notify("order_cancelled", event, context)


@subscribe(OrderAmended)
def order_amended(event: OrderAmended) -> None:
    context = _facts(
        event,
        "order_number",
        "currency",
        "total_minor",
        "lines",
        "changes",
        "shipping_address",
        order_url=_order_url(event),
    )
    _notify("order_amended", event, context)


@subscribe(OrderFailed)
def order_failed(event: OrderFailed) -> None:
    _notify("order_failed", event, {"order_number": event.order_number, "reason": event.reason, "code": event.code})


@subscribe(OrderCompleted)
def schedule_feedback_on_completion(event: OrderCompleted) -> None:
    services.feedback_schedule(order_number=event.order_number, user_id=event.user_id, email=event.customer_email)


# --- payments --------------------------------------------------------------------
@subscribe(PaymentRefunded)
def payment_refunded(event: PaymentRefunded) -> None:
    reference = event.reference.split(":", 1)[-1]
    context = _facts(
        event,
        "reference",
        "amount_minor",
        "refunded_total_minor",
        "fully_refunded",
        "currency",
        "reason",
        order_number=reference,
    )
    _notify("order_refunded", event, context)


# --- shipping --------------------------------------------------------------------
def _shipment_context(event, *names: str, **extra) -> dict:
    return _facts(
        event,
        "order_number",
        "shipment_number",
        "tracking_number",
        *names,
        order_url=_order_url(event),
        **extra,
    )


@subscribe(ShipmentDispatched)
def shipment_dispatched(event: ShipmentDispatched) -> None:
    context = _shipment_context(event, "carrier", "tracking_url", "lines", "kind")
    _notify("shipment_dispatched", event, context)


@subscribe(ShipmentInTransit)
def shipment_in_transit(event: ShipmentInTransit) -> None:
    context = _shipment_context(event, "tracking_url", "location", "reattempt")
    _notify("shipment_in_transit", event, context)


@subscribe(ShipmentDelivered)
def shipment_delivered(event: ShipmentDelivered) -> None:
    context = _shipment_context(event, "delivered_at", "all_delivered")
    _notify("shipment_delivered", event, context)


@subscribe(ShipmentDelivered)
def schedule_feedback_on_delivery(event: ShipmentDelivered) -> None:
    if event.all_delivered:
        services.feedback_schedule(order_number=event.order_number, user_id=event.user_id, email=event.customer_email)


@subscribe(DeliveryFailed)
def parcel_returned_to_sender(event: DeliveryFailed) -> None:
    """The customer hears of a failed attempt with its new estimate (``DeliveryRescheduled``); here only that
    the parcel is coming back."""
    if event.returned_to_sender:
        context = _shipment_context(event, "attempt", "reason", returned_to_sender=True)
        _notify("delivery_failed", event, context)


@subscribe(DeliveryRescheduled)
def delivery_failed_with_new_estimate(event: DeliveryRescheduled) -> None:
    context = _shipment_context(
        event,
        "attempt",
        "reason",
        "estimated_delivery_date",
        "estimate_source",
        "choices",
        "pickup_point",
        "tracking_url",
        returned_to_sender=False,
    )
    _notify("delivery_failed", event, context)


@subscribe(ReturnInitiated)
def return_initiated(event: ReturnInitiated) -> None:
    context = _facts(
        event,
        "order_number",
        "rma_number",
        "reason",
        "lines",
        "currency",
        order_url=_order_url(event),
        return_url=_return_url(event),
    )
    _notify("return_initiated", event, context)


@subscribe(ReturnApproved)
def return_approved(event: ReturnApproved) -> None:
    context = _facts(event, "order_number", "rma_number", "return_tracking_number", return_url=_return_url(event))
    _notify("return_approved", event, context)


@subscribe(ReturnRejected)
def return_rejected(event: ReturnRejected) -> None:
    context = _facts(event, "order_number", "rma_number", "reason", return_url=_return_url(event))
    _notify("return_rejected", event, context)


@subscribe(ReturnReceived)
def return_received(event: ReturnReceived) -> None:
    context = _facts(
        event,
        "order_number",
        "rma_number",
        "decision",
        "lines",
        "currency",
        "goods_refund_minor",
        "shipping_refund_minor",
        amount_minor=event.refund_minor,
    )
    _notify("return_received", event, context)


# --- subscriptions -----------------------------------------------------------------
def _subscription_context(event, *names: str, **extra) -> dict:
    return _facts(
        event, "subscription_id", "plan_name", "tier_name", *names, subscriptions_url=_subscriptions_url(), **extra
    )


def _subscriber(event):
    return recipient_resolve(user_id=event.user_id, email=event.customer_email, name=event.customer_name)


@subscribe(UserSubscriptionStarted)
def subscription_started(event: UserSubscriptionStarted) -> None:
    context = _subscription_context(
        event,
        "status",
        "trial_end",
        "amount_minor",
        "price_minor",
        "currency",
        "interval",
        period_end=event.current_period_end,
    )
    _notify("subscription_started", event, context, _subscriber(event))


@subscribe(SubscriptionRenewed)
def subscription_renewed(event: SubscriptionRenewed) -> None:
    context = _subscription_context(
        event, "invoice_number", "amount_minor", "currency", period_end=event.current_period_end
    )
    _notify("subscription_renewed", event, context, _subscriber(event))


@subscribe(InvoicePaymentFailed)
def subscription_payment_failed(event: InvoicePaymentFailed) -> None:
    context = _facts(
        event,
        "subscription_id",
        "invoice_number",
        "amount_minor",
        "currency",
        "attempt",
        "decline_code",
        "next_attempt_at",
        "final",
        retry_url=_subscriptions_url(),
    )
    _notify("subscription_payment_failed", event, context)


@subscribe(UserSubscriptionCancelled)
def subscription_cancelled(event: UserSubscriptionCancelled) -> None:
    context = _subscription_context(event, "reason", "cancelled_at")
    _notify("subscription_cancelled", event, context, _subscriber(event))


@subscribe(SubscriptionCancellationScheduled)
def subscription_cancellation_scheduled(event: SubscriptionCancellationScheduled) -> None:
    _notify(
        "subscription_cancellation_scheduled",
        event,
        _subscription_context(event, "ends_at"),
        _subscriber(event),
    )


@subscribe(SubscriptionPlanChanged)
def subscription_plan_changed(event: SubscriptionPlanChanged) -> None:
    context = _subscription_context(event, "direction", "proration_charged_minor", "proration_credit_minor", "currency")
    _notify("subscription_plan_changed", event, context, _subscriber(event))


@subscribe(SubscriptionPaused)
def subscription_paused(event: SubscriptionPaused) -> None:
    _notify("subscription_paused", event, _subscription_context(event, "paused_at"), _subscriber(event))


@subscribe(SubscriptionResumed)
def subscription_resumed(event: SubscriptionResumed) -> None:
    context = _subscription_context(event, "resumed_at", period_end=event.current_period_end)
    _notify("subscription_resumed", event, context, _subscriber(event))


# --- staff alerts ----------------------------------------------------------------
@subscribe(LowStock)
def low_stock_alert(event: LowStock) -> None:
    context = _facts(event, "sku", "product_name", "warehouse_code", "available", "threshold")
    day = event.occurred_at.date().isoformat()
    services.staff_alert_create(
        kind="low_stock", event=event, context=context, dedupe=f"{event.sku}@{event.warehouse_code}:{day}"
    )


@subscribe(OutOfStock)
def out_of_stock_alert(event: OutOfStock) -> None:
    context = {"sku": event.sku, "product_name": event.product_name, "product_slug": event.product_slug}
    day = event.occurred_at.date().isoformat()
    services.staff_alert_create(kind="out_of_stock", event=event, context=context, dedupe=f"{event.sku}:{day}")


@subscribe(DeliveryFailed)
def delivery_failed_alert(event: DeliveryFailed) -> None:
    """The logistics team (the Warehouse group) hears of every failed attempt, with the carrier's reason."""
    context = _facts(
        event,
        "order_number",
        "shipment_number",
        "tracking_number",
        "attempt",
        "reason",
        "returned_to_sender",
        max_attempts=settings.SHIPPING_MAX_DELIVERY_ATTEMPTS,
    )
    services.staff_alert_create(kind="delivery_failed_alert", event=event, context=context, group="Warehouse")


@subscribe(DeliveryInstructionRefused)
def return_refused_alert(event: DeliveryInstructionRefused) -> None:
    """The carrier would not take back a parcel the shop gave up on: the Warehouse arranges it by hand."""
    context = _facts(event, "order_number", "shipment_number", "attempt", "detail")
    services.staff_alert_create(kind="return_refused_alert", event=event, context=context, group="Warehouse")


# --- customers' alerts on stock and new arrivals --------------------------------------
@subscribe(BackInStock)
def tell_waiting_customers_back_in_stock(event: BackInStock) -> None:
    back_in_stock.back_in_stock_fulfil(event=event)


@subscribe(EarlyAccessOpened)
def tell_members_about_new_arrival(event: EarlyAccessOpened) -> None:
    new_arrivals.new_arrival_announce(event=event)


@subscribe(ChargebackOpened)
def chargeback_alert(event: ChargebackOpened) -> None:
    """Finance answers disputes (evidence in Payments → Disputes): they are told, not every staff member."""
    context = _facts(event, "reference", "dispute_id", "amount_minor", "currency", "reason")
    services.staff_alert_create(kind="chargeback_opened", event=event, context=context, group="Finance")


@subscribe(ChargebackResolved)
def chargeback_outcome_alert(event: ChargebackResolved) -> None:
    context = _facts(event, "reference", "dispute_id", "outcome", "amount_minor", "loss_minor", "fee_minor", "currency")
    services.staff_alert_create(kind="chargeback_resolved", event=event, context=context, group="Finance")
