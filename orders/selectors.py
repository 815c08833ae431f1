"""Read-only queries of the orders app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from flowmart.events.selectors import commands_open, timeline_for_correlation
from flowmart.history import HistoryEntry, history
from inventory import selectors as inventory_selectors
from orders.exports import orders_export  # noqa: F401 (re-exported: manage.py export)
from orders.figures import (  # noqa: F401 (re-exported: the reports' figures)
    CategoryRow,
    SalesRow,
    StageTimes,
    processing_times,
    sales_by_category,
    sales_by_period,
)
from orders.models import FLAGGED_FOR_ATTENTION, SAGA_UNDER_WAY, BasketLine, Order, OrderRefund, OrderStatus, SagaStatus
from payments import selectors as payment_selectors
from shipping import selectors as shipping_selectors


def _with_lines_and_refunds(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Refunds oldest first: the order page and the API list them so."""
    return orders.prefetch_related(
        "lines", Prefetch("refunds", queryset=OrderRefund.objects.order_by("created_at", "id"))
    )


def order_list_for_user(*, user) -> QuerySet[Order]:
    """The customer's own orders, newest first (failed checkouts are not orders they placed)."""
    orders = Order.objects.filter(user=user).exclude(status=OrderStatus.FAILED).order_by("-placed_at", "-id")
    return _with_lines_and_refunds(orders)


def order_get_for_user(*, number: str, user) -> Order | None:
    """One of the customer's own orders; None for anyone else's (the caller answers 404)."""
    if user is None or not user.is_authenticated:
        return None
    return _with_lines_and_refunds(Order.objects.filter(number=number, user=user)).first()


def order_get_for_guest(*, number: str, order_numbers: list[str]) -> Order | None:
    """A guest sees the orders placed in their session only."""
    if number not in order_numbers:
        return None
    return _with_lines_and_refunds(Order.objects.filter(number=number, user__isnull=True)).first()


def order_for_checkout_key(*, request_key: str) -> Order | None:
    """The order a checkout request with this (scoped, digested) Idempotency-Key created, if it got that far."""
    return Order.objects.filter(checkout_key=request_key).first() if request_key else None


def order_get(*, number: str) -> Order | None:
    return Order.objects.filter(number=number).first()


def order_timeline(*, order: Order) -> list:
    """Every event of the order's flow, across apps, oldest first.

    The flow's correlation id is the order number; events keyed by the order's
    payment reference (``order:FM-…``) belong to it too; each event appears once.
    """
    seen: set[str] = set()
    entries = []
    for correlation_id in dict.fromkeys([order.number, order.stock_reference, order.payment_reference]):
        for entry in timeline_for_correlation(correlation_id=correlation_id):
            if entry.event_id not in seen:
                seen.add(entry.event_id)
                entries.append(entry)
    return sorted(entries, key=lambda e: e.occurred_at)


def order_history(*, order: Order) -> list[HistoryEntry]:
    """The order's transitions and notes (amendments, refund issues resolved), oldest first."""
    return history(order)


def order_actions(*, order: Order) -> list[str]:
    """What the customer may do now: cancel, amend, retry_payment, return."""
    actions = []
    if order.can_customer_cancel() and order.status != OrderStatus.PENDING:
        actions.append("cancel")
    if order.can_amend():
        actions.append("amend")
    if order.can_retry_payment():
        actions.append("retry_payment")
    if order.can_return():
        actions.append("return")
    return actions


def orders_with_authorizations_expiring(*, authorized_before) -> QuerySet[Order]:
    """Undispatched orders holding an authorization (not captured, not voided) made before ``authorized_before``;
    an order whose renewal already failed waits for staff instead."""
    return (
        Order.objects.filter(
            status__in=[OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD],
            payments__voided=False,
            payments__captured_minor=0,
            payments__created_at__lte=authorized_before,
        )
        .exclude(failure_code="reauthorization_failed")
        .distinct()
        .order_by("pk")
    )


def orders_needing_attention() -> QuerySet[Order]:
    """Stuck sagas (lease expired mid-way), orders on hold, settle failures, partial returns to sender,
    refunds Finance rejected (or the gateway refused), parcels the carrier failed to deliver (still on their
    way), open chargebacks (``disputed``) and authorizations that expired before capture, for staff;
    ``failure_detail`` and ``delivery_problems`` say why."""
    now = timezone.now()
    stuck = SAGA_UNDER_WAY & (Q(saga_lease_until__lte=now) | Q(saga_lease_until__isnull=True))
    # PostgreSQL proves this implies the partial index's condition and reads only that index.
    return Order.objects.filter(stuck | FLAGGED_FOR_ATTENTION)


# What the customer is told about a refund orders asked for (a rejection is staff's business, not theirs).
_REFUND_FOR_CUSTOMER = {
    OrderRefund.Status.PENDING_APPROVAL: ("awaiting_approval", "Refund awaiting approval"),
    OrderRefund.Status.PROCESSING: ("processing", "Refund being processed"),
    OrderRefund.Status.SUCCEEDED: ("refunded", "Refunded"),
    OrderRefund.Status.REJECTED: ("under_review", "Refund under review by our team"),
    OrderRefund.Status.FAILED: ("under_review", "Refund under review by our team"),
}


def order_money_summary(*, order: Order) -> dict:
    """The order's books in minor units: what was captured, refunded, lost to chargebacks (and their fees), and
    what the order finally brought in (``net_minor``); ``disputed`` while a chargeback is open."""
    return {
        "currency": order.currency,
        "captured_minor": order.captured_minor,
        "refunded_minor": order.refunded_minor,
        "chargeback_lost_minor": order.chargeback_lost_minor,
        "chargeback_fee_minor": order.chargeback_fee_minor,
        "net_minor": order.captured_minor
        - order.refunded_minor
        - order.chargeback_lost_minor
        - order.chargeback_fee_minor,
        "disputed": order.disputed,
    }


def order_refunds_for_customer(*, order: Order) -> list[dict]:
    """The order's refunds as the customer sees them: amount, status (awaiting_approval | processing |
    refunded | under_review), a sentence, what for (cancellation | return + RMA), when."""
    rows = []
    for refund in order.refunds.all():
        status, label = _REFUND_FOR_CUSTOMER[refund.status]
        rows.append(
            {
                "amount_minor": refund.amount_minor,
                "currency": order.currency,
                "status": status,
                "label": label,
                "purpose": refund.purpose,
                "rma_number": refund.rma_number,
                "requested_at": refund.created_at,
                "refunded_at": refund.settled_at if refund.status == OrderRefund.Status.SUCCEEDED else None,
            }
        )
    return rows


def order_page(*, order: Order) -> dict:
    """Everything the order page shows, across apps: timeline, shipments, payments and refunds.

    ``refunds`` are the ones orders asked for, in the customer's terms; ``other_refunds`` are refunds
    staff made at payments directly (payments' own status)."""
    payments = payment_selectors.payments_for_reference(reference=order.payment_reference)
    ours = set(order.refunds.values_list("refund_id", flat=True))
    other_refunds = [
        r for p in payments for r in payment_selectors.refunds_for_payment(payment_id=p.id) if r.id not in ours
    ]
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "timeline": order_timeline(order=order),
        "transitions": order_history(order=order),
        "shipments": shipping_selectors.shipments_for_order(order_number=order.number),
        "payments": payments,
        "refunds": order_refunds_for_customer(order=order),
        "other_refunds": other_refunds,
        "actions": order_actions(order=order),
    }


def saved_cards_for(*, user) -> list:
    """The customer's saved cards (payments), offered at checkout and for a payment retry."""
    if user is None or not user.is_authenticated:
        return []
    return payment_selectors.payment_methods_for_user(user_id=str(user.public_id))


def order_shipments(*, order: Order) -> list:
    return shipping_selectors.shipments_for_order(order_number=order.number)


def order_payments(*, order: Order) -> list:
    return payment_selectors.payments_for_reference(reference=order.payment_reference)


def basket_item_count(*, user, basket_public_id: str | None) -> int:
    """Units in the visitor's basket (one query), for the header badge."""
    if user is not None and user.is_authenticated:
        lines = BasketLine.objects.filter(basket__user=user)
    elif basket_public_id:
        lines = BasketLine.objects.filter(basket__public_id=basket_public_id, basket__user__isnull=True)
    else:
        return 0
    return lines.aggregate(n=Sum("quantity"))["n"] or 0


# -- the sweeper's work lists -----------------------------------------------------------------
def sagas_stuck() -> list[int]:
    """Orders whose saga is mid-way and whose lease ran out (their process died)."""
    return list(
        Order.objects.filter(SAGA_UNDER_WAY)
        .exclude(saga_lease_until__gt=timezone.now())
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


def parcel_stops_left() -> list[int]:
    """Orders with a hold or cancel begun longer than a saga's lease ago and not finished (``Order.parcels_stop``):
    their process probably died while it stopped the parcels (the sweeper checks the order's lock)."""
    begun_before = timezone.now() - timedelta(seconds=settings.ORDERS_SAGA_LEASE_SECONDS)
    return list(
        Order.objects.filter(parcels_stop_started_at__lte=begun_before)
        .order_by("parcels_stop_started_at", "id")
        .values_list("id", flat=True)[:500]
    )


def payment_retries_expired() -> list[int]:
    """Declined orders whose payment-retry window closed and that are not compensated yet."""
    return list(
        Order.objects.filter(status=OrderStatus.PAYMENT_FAILED, retry_until__lte=timezone.now())
        .exclude(saga_status=SagaStatus.COMPENSATED)
        .order_by("-placed_at", "-id")
        .values_list("id", flat=True)[:500]
    )


def declined_holds_ended() -> list[int]:
    """Declined orders still holding stock after their hold ended (``ORDERS_DECLINE_HOLD_MINUTES``)."""
    return list(
        Order.objects.filter(
            status=OrderStatus.PAYMENT_FAILED, stock_reserved=True, stock_held_until__lte=timezone.now()
        ).values_list("id", flat=True)[:500]
    )


def orders_to_settle() -> list[int]:
    """Dispatched orders whose capture or stock commit did not happen yet, and that no settle command is still
    working on (the command retries with its own back-off; sending another would be a second, racing settle)."""
    settling = commands_open(task_name="orders.tasks.order_settle_task", kwarg="order_id")
    return list(
        Order.objects.filter(
            status__in=[OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED],
            stock_committed=False,
            shipped_at__lte=timezone.now() - timedelta(minutes=5),
        )
        .exclude(failure_code="settle_failed")
        .exclude(pk__in=settling)
        .order_by("-placed_at", "-id")
        .values_list("id", flat=True)[:500]
    )


def exchange_options(*, order: Order, user_id: str | None) -> list[dict] | None:
    """What the customer may exchange: each delivered line still returnable, with the variants of its product on
    sale: [{sku, name, quantity, replacements: [(sku, label)]}]; None if the order is not theirs at shipping."""
    returnable = shipping_selectors.returnable_lines_for_order(order_number=order.number, user_id=user_id)
    if returnable is None:
        return None
    prices = {line.sku: line.unit_price_minor for line in order.lines.all()}

    def label(variant: dict, price: int) -> str:
        difference = variant["price_minor"] - price
        text = variant["name"] or variant["sku"]
        if difference > 0:
            text += " (costs more: the difference is charged to your card)"
        elif difference < 0:
            text += " (costs less: the difference is refunded)"
        return text + ("" if variant["in_stock"] else " — out of stock: we send it when it is back")

    variants = inventory_selectors.variants_by_sku(skus=[line["sku"] for line in returnable])
    options = []
    for line in returnable:
        product = variants.get(line["sku"])
        detail = inventory_selectors.product_detail_data(slug=product.product_slug) if product else None
        replacements = [(v["sku"], label(v, prices.get(line["sku"], 0))) for v in (detail or {}).get("variants", [])]
        if replacements and line["quantity"] > 0:
            options.append({**line, "replacements": replacements})
    return options


def orders_for_staff(
    *, status: str = "", email: str = "", number: str = "", placed_from=None, placed_to=None
) -> QuerySet[Order]:
    """Every order, newest first, filtered for the staff API (each filter optional)."""
    orders = Order.objects.order_by("-placed_at", "-id")
    if status:
        orders = orders.filter(status=status)
    if email:
        orders = orders.filter(email__iexact=email)
    if number:
        orders = orders.filter(number=number)
    if placed_from is not None:
        orders = orders.filter(placed_at__gte=placed_from)
    if placed_to is not None:
        orders = orders.filter(placed_at__lt=placed_to)
    return _with_lines_and_refunds(orders)
