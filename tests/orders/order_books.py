"""The books of the whole shop, read from each app's own records, and the invariants that must hold between them
(docs/orders.md §The books balance). Used by the order-books state machine after every step, and by the explicit
tests of the sequences it found broken.

Every number here is read from the record that owns it, never from the order's own summary of it:
money from the sandbox gateway's charges (what really moved), chargebacks from payments' disputes, parcels and
returns from shipping, stock from inventory's rows and ledger. The order contributes only what it sold: its
lines' prices (what was charged for each unit) and the shipping it quoted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import Reservation, ReservationAllocation, Stock, StockMovement
from orders.models import Order, OrderRefund, OrderStatus
from payments.models import Dispute, Payment, SandboxCharge
from shipping.models import ReturnLine, ReturnRequest, Shipment, ShipmentLine

# A parcel in these states has left the warehouse: its units are with the carrier or the customer.
LEFT_THE_WAREHOUSE = (
    Shipment.Status.DISPATCHED,
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.DELIVERY_FAILED,
    Shipment.Status.DELIVERED,
)
# A return in these states is back in the warehouse (inspected): its units are no longer with the customer.
RETURN_RECEIVED = (
    ReturnRequest.Status.RECEIVED,
    ReturnRequest.Status.AWAITING_STOCK,  # received; its exchange waits for the replacement
    ReturnRequest.Status.REFUNDED,
    ReturnRequest.Status.EXCHANGED,
)
# Orders that may hold an authorization (money reserved on the customer's card, not yet captured).
LIVE = (OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD)


@dataclass(frozen=True)
class OrderBooks:
    """One order's money and goods. ``balance_minor`` is 0 when the books balance (see ``order_books``)."""

    number: str
    status: str
    captured_minor: int
    refunded_minor: int
    chargebacks_lost_minor: int
    refunds_owed_minor: int
    kept_value_minor: int
    shipping_charged_minor: int
    order_captured_minor: int
    order_refunded_minor: int

    @property
    def money_kept_minor(self) -> int:
        """What the shop holds for this order: captured at the gateway, less refunds and chargebacks lost."""
        return self.captured_minor - self.refunded_minor - self.chargebacks_lost_minor

    @property
    def balance_minor(self) -> int:
        return self.money_kept_minor + self.refunds_owed_minor - self.kept_value_minor - self.shipping_charged_minor


def _unit_share_minor(line) -> int:
    """What the customer paid for one unit of an order line (line total after its discount, per unit).

    The shop's catalogue in these tests is priced so that every share is a whole number of cents (10 % off
    2000 and 1250), so the invariant does not depend on where an apportioning remainder is placed."""
    share, remainder = divmod(line.line_total_minor, line.quantity)
    assert remainder == 0, f"{line.sku}: {line.line_total_minor} over {line.quantity} units is not whole cents"
    return share


def order_books(order: Order, *, dispute_loss_recorded_by_payments: bool = True) -> OrderBooks:
    """The order's books, read from each owner.

    * money: the gateway's charges of the order's payments (``captured``, ``refunded``) and payments' lost
      chargebacks (the bank took ``amount`` back from the shop);
    * refunds owed: refunds the order asked for whose money has not moved (awaiting Finance, processing,
      rejected or failed: the customer is owed them, the order is on staff's attention list);
    * kept value: once a parcel of the order left the warehouse, for every unit of its lines not returned for
      a refund, what the customer paid for it (a unit returned for an exchange is still kept: the replacement
      takes its place at the same price); 0 before;
    * shipping charged: the order's quoted shipping once a parcel left the warehouse (returns never refund it:
      only a partial return is exercised), 0 before;
    * a lost chargeback is money the shop no longer holds for goods the customer kept: it balances only as a
      recorded loss. ``dispute_loss_recorded_by_payments`` counts payments' lost ``Dispute`` row as that record
      (today's code); with ``False`` the loss must be recorded on the order (issue 13), which no code does yet.
    """
    order = Order.objects.get(pk=order.pk)
    payments = list(Payment.objects.filter(reference=order.payment_reference))
    charges = list(SandboxCharge.objects.filter(id__in=[p.gateway_ref for p in payments if p.gateway_ref]))
    lost = (
        Dispute.objects.filter(payment__in=payments, status=Dispute.Status.LOST).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    loss_recorded = lost if dispute_loss_recorded_by_payments else _order_loss_recorded_minor(order)
    owed = (
        OrderRefund.objects.filter(order=order)
        .exclude(status=OrderRefund.Status.SUCCEEDED)
        .aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    lines = list(order.lines.all())
    parcel_left = ShipmentLine.objects.filter(
        shipment__order_number=order.number,
        shipment__kind=Shipment.Kind.ORDER,
        shipment__status__in=LEFT_THE_WAREHOUSE,
    ).exists()
    refunded_back = defaultdict(int)
    for sku, quantity in ReturnLine.objects.filter(
        return_request__order_number=order.number,
        return_request__status__in=RETURN_RECEIVED,
        return_request__decision=ReturnRequest.Decision.REFUND,
    ).values_list("sku", "quantity"):
        refunded_back[sku] += quantity
    # Once the first parcel left, the order is sold as a whole (settle captures its total then; a second parcel
    # of a split order follows): the customer keeps every unit of its lines not returned for a refund.
    kept_value = (
        sum(_unit_share_minor(line) * (line.quantity - refunded_back[line.sku]) for line in lines) if parcel_left else 0
    )
    shipping = order.shipping_minor if parcel_left else 0
    return OrderBooks(
        number=order.number,
        status=order.status,
        captured_minor=sum(c.captured_minor for c in charges),
        refunded_minor=sum(c.refunded_minor for c in charges),
        chargebacks_lost_minor=lost - loss_recorded,
        refunds_owed_minor=owed,
        kept_value_minor=kept_value,
        shipping_charged_minor=shipping,
        order_captured_minor=order.captured_minor,
        order_refunded_minor=order.refunded_minor,
    )


def _order_loss_recorded_minor(order: Order) -> int:
    """A lost chargeback as the order's own books record it (``Order.chargeback_lost_minor``, from its
    ``OrderDispute`` rows)."""
    return order.chargeback_lost_minor


def money_problems(order: Order, *, dispute_loss_recorded_by_payments: bool = True) -> list[str]:
    """Every broken money invariant of one order, in words (empty when its books balance)."""
    books = order_books(order, dispute_loss_recorded_by_payments=dispute_loss_recorded_by_payments)
    problems = []
    if books.balance_minor != 0:
        problems.append(
            f"{books.number} ({books.status}): money kept {books.money_kept_minor} "
            f"(captured {books.captured_minor} - refunded {books.refunded_minor} - chargebacks lost unrecorded "
            f"{books.chargebacks_lost_minor}) + refunds owed {books.refunds_owed_minor} != value kept "
            f"{books.kept_value_minor} + shipping {books.shipping_charged_minor}"
        )
    if books.refunded_minor > books.captured_minor:
        problems.append(f"{books.number}: refunded {books.refunded_minor} > captured {books.captured_minor}")
    if (books.order_captured_minor, books.order_refunded_minor) != (books.captured_minor, books.refunded_minor):
        problems.append(
            f"{books.number}: the order books captured/refunded {books.order_captured_minor}/"
            f"{books.order_refunded_minor}, the gateway {books.captured_minor}/{books.refunded_minor}"
        )
    return problems


def authorization_problems() -> list[str]:
    """An authorization (a hold on the customer's card) exists only for a live order."""
    problems = []
    held = SandboxCharge.objects.filter(status="authorized").values_list("id", flat=True)
    for payment in Payment.objects.filter(gateway_ref__in=list(held), reference__startswith="order:"):
        order = Order.objects.filter(number=payment.reference.removeprefix("order:")).first()
        if order is None or order.status not in LIVE:
            status = order.status if order else "missing"
            problems.append(f"{payment.reference} is {status} but charge {payment.gateway_ref} is still authorized")
    return problems


def stock_ledger_problems() -> list[str]:
    """Every stock row's ledger sums to its on-hand, and its reserved count is what live reservations hold."""
    problems = []
    moved = dict(StockMovement.objects.values_list("stock").annotate(s=Sum("quantity")).values_list("stock", "s"))
    held = dict(
        ReservationAllocation.objects.filter(reservation__state=Reservation.State.ACTIVE)
        .values_list("stock")
        .annotate(s=Sum("quantity"))
        .values_list("stock", "s")
    )
    for stock in Stock.objects.select_related("variant", "warehouse").order_by("id"):
        where = f"{stock.variant.sku}@{stock.warehouse.code}"
        if moved.get(stock.pk, 0) != stock.on_hand:
            problems.append(f"{where}: ledger sums to {moved.get(stock.pk, 0)}, on hand {stock.on_hand}")
        if held.get(stock.pk, 0) != stock.reserved:
            problems.append(f"{where}: reservations hold {held.get(stock.pk, 0)}, reserved {stock.reserved}")
        if not 0 <= stock.reserved <= stock.on_hand:
            problems.append(f"{where}: reserved {stock.reserved} of {stock.on_hand} on hand")
    return problems


def shipped_and_available_problems() -> list[str]:
    """No unit is both shipped and available, per SKU: every unit that left the warehouse in a parcel (an
    order's or an exchange's) was taken off the shelf by a sale (units shipped <= units sold), and every unit
    put back on the shelf by a return came back (units restocked <= units received back). A parcel that left
    without its stock being committed, or a return restocked twice, breaks one of them. (Sold may run ahead of
    shipped: a split order's stock is committed when its first parcel leaves.)"""
    problems = []
    shipped = defaultdict(int)
    for sku, quantity in ShipmentLine.objects.filter(shipment__status__in=LEFT_THE_WAREHOUSE).values_list(
        "sku", "quantity"
    ):
        shipped[sku] += quantity
    came_back = defaultdict(int)
    for sku, quantity in ReturnLine.objects.filter(return_request__status__in=RETURN_RECEIVED).values_list(
        "sku", "quantity"
    ):
        came_back[sku] += quantity
    for sku, quantity in ShipmentLine.objects.filter(shipment__status=Shipment.Status.RETURNED_TO_SENDER).values_list(
        "sku", "quantity"
    ):
        came_back[sku] += quantity
    sold = defaultdict(int)
    restocked = defaultdict(int)
    for sku, reason, quantity in StockMovement.objects.filter(
        reason__in=[StockMovement.Reason.SALE, StockMovement.Reason.RETURN]
    ).values_list("stock__variant__sku", "reason", "quantity"):
        if reason == StockMovement.Reason.SALE:
            sold[sku] -= quantity
        else:
            restocked[sku] += quantity
    for sku in sorted(set(shipped) | set(sold) | set(restocked)):
        if shipped[sku] > sold[sku]:
            problems.append(f"{sku}: {shipped[sku]} units left the warehouse, {sold[sku]} were taken off the shelf")
        if restocked[sku] > came_back[sku]:
            problems.append(f"{sku}: {restocked[sku]} units restocked, {came_back[sku]} came back")
    return problems
