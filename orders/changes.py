"""Changes to a placed order before it ships: cancel, hold and release, amend."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.notes import note_add
from flowmart.transitions import transition_apply
from inventory import services as inventory_services
from orders import saga
from orders.checkout import address_clean
from orders.errors import CheckoutInProgress, CheckoutInvalid, OrderActionNotAllowed
from orders.events import OrderAmended, OrderOnHold
from orders.models import Order, OrderLine, OrderNote, OrderPayment, OrderStatus, SagaStatus
from orders.pricing import line_discount_minor
from payments import services as payment_services


# -- cancel ----------------------------------------------------------------------------------
def order_cancel(
    *, order: Order, by=None, actor: str = "customer", reason: str = "", dispatched_allowed: bool = True
) -> Order:
    """Cancel: a customer before dispatch, staff before delivery (``dispatched_allowed=False``: before dispatch,
    the Support role's cancel). Compensates (void/refund, release)."""
    order = Order.objects.get(pk=order.pk)
    allowed = order.can_staff_cancel() if actor == "staff" else order.can_customer_cancel()
    if not dispatched_allowed and order.status == OrderStatus.SHIPPED:
        allowed = False
    if not allowed:
        if (actor == "customer" or not dispatched_allowed) and order.status in (
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.COMPLETED,
        ):
            raise OrderActionNotAllowed(
                "This order has already been dispatched; please start a return instead.", code="order_dispatched"
            )
        raise OrderActionNotAllowed(f"An order that is {order.get_status_display().lower()} cannot be cancelled.")
    running = order.status == OrderStatus.PENDING and order.saga_status == SagaStatus.RUNNING
    if running and order.saga_lease_until and order.saga_lease_until > timezone.now():
        raise CheckoutInProgress("This order is still being placed; try again in a moment.")
    reason = reason or ("cancelled by the customer" if actor == "customer" else "cancelled by staff")
    return saga.compensate(order=order, target=OrderStatus.CANCELLED, reason=reason, actor=actor, by=by)


# -- hold and release ---------------------------------------------------------------------------
def order_hold(*, order: Order, reason: str, by=None, actor: str = "staff", expected_delay_days: int = 3) -> Order:
    """Stock turned out short (or staff need to check something): the order waits; the customer is told."""
    with transaction.atomic():
        order = saga.lock(order)
        if order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
            raise OrderActionNotAllowed("Only confirmed orders can be put on hold.")
        order.hold_reason = reason[:255]
        transition_apply(order, "hold", actor=actor, by=by, reason=reason)
        publish(
            OrderOnHold(
                correlation_id=order.number,
                order_number=order.number,
                user_id=saga.user_id_of(order),
                customer_email=order.email,
                reason=reason,
                expected_delay_days=expected_delay_days,
            )
        )
    return order


def order_stock_reserve_again(*, order: Order) -> Order:
    """Inventory let a confirmed order's reservation expire: hold the stock again, else put the order on hold."""
    order = Order.objects.get(pk=order.pk)
    if order.stock_reserved or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        return order
    try:
        _reserve_again(order)
    except inventory_services.InsufficientStock as exc:
        return order_hold(
            order=order,
            actor="system",
            reason=f"Some items turned out to be out of stock ({exc.detail})",
        )
    return Order.objects.get(pk=order.pk)


def _reserve_again(order: Order) -> None:
    with saga.step(order, "reserve_stock") as attempt:
        reservation = inventory_services.stock_reserve(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=line.sku, quantity=line.quantity) for line in order.lines.all()],
            ttl_minutes=settings.ORDERS_RESERVATION_TTL_MINUTES,
        )
        with transaction.atomic():
            saga.store_allocations(order, reservation)
            Order.objects.filter(pk=order.pk).update(stock_reserved=True, stock_released=False)
            attempt.succeed()


def order_release_hold(*, order: Order, by=None, reason: str = "released by staff") -> Order:
    """Back to ``confirmed``; if the stock had been lost, it must be reservable again first (else 409)."""
    order = Order.objects.get(pk=order.pk)
    if order.status == OrderStatus.ON_HOLD and not order.stock_reserved:
        _reserve_again(order)
    with transaction.atomic():
        order = saga.lock(order)
        if order.status != OrderStatus.ON_HOLD:
            raise OrderActionNotAllowed("This order is not on hold.")
        transition_apply(order, "release_hold", actor="staff", by=by, reason=reason)
    return order


# -- amend ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Amendment:
    """A validated change: the order's lines by SKU, their new quantities (0 removes), the address."""

    lines: dict[str, OrderLine]
    quantities: dict[str, int]
    address: dict
    changes: list[str]
    total_minor: int


def order_amend(
    *, order: Order, quantities: dict[str, int] | None = None, shipping_address: dict | None = None, by=None
) -> Order:
    """Before fulfilment: change quantities (0 removes a line) and/or the address.

    Stock is re-reserved all or nothing; a higher total is covered by an extra authorization,
    a lower one is released at capture (only the new total is ever captured).
    """
    order = Order.objects.get(pk=order.pk)
    amendment = _amendment_prepare(order, quantities=quantities or {}, shipping_address=shipping_address)
    with saga.step(order, "amend_reservation"):
        reservation = inventory_services.stock_reservation_amend(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=s, quantity=q) for s, q in amendment.quantities.items() if q],
        )
    extra_payment = None
    if amendment.total_minor > order.authorized_minor:
        extra_payment = _authorize_extra(order, amount_minor=amendment.total_minor - order.authorized_minor)
    return _amendment_apply(order, amendment, reservation=reservation, extra_payment=extra_payment, by=by)


def _amendment_prepare(order: Order, *, quantities: dict, shipping_address: dict | None) -> _Amendment:
    """Validate the change (read-only) and price it."""
    if not order.can_amend():
        raise OrderActionNotAllowed("This order can no longer be changed.")
    quantities = {str(k): v for k, v in quantities.items()}
    lines = {line.sku: line for line in order.lines.all()}
    unknown = sorted(set(quantities) - set(lines))
    if unknown:
        raise CheckoutInvalid(f"{', '.join(unknown)} is not in this order.", code="unknown_line")
    for sku, qty in quantities.items():
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            raise CheckoutInvalid(f"Quantity for {sku} must be 0 or more.", code="quantity_not_allowed")
        if qty > settings.BASKET_MAX_QUANTITY:
            raise CheckoutInvalid(
                f"You can buy at most {settings.BASKET_MAX_QUANTITY} of one item.", code="quantity_not_allowed"
            )
    new_quantities = {sku: quantities.get(sku, line.quantity) for sku, line in lines.items()}
    if not any(new_quantities.values()):
        raise CheckoutInvalid("An order needs at least one item; cancel the order instead.", code="order_empty")
    address = address_clean(shipping_address) if shipping_address is not None else order.shipping_address
    changes = [
        f"{lines[sku].name}: {lines[sku].quantity} → {qty}"
        for sku, qty in new_quantities.items()
        if qty != lines[sku].quantity
    ]
    if address != order.shipping_address:
        changes.append("shipping address changed")
    if not changes:
        raise CheckoutInvalid("Nothing to change.", code="nothing_to_change")
    total = order.shipping_minor
    for sku, line in lines.items():
        gross, discount = _line_price(order, line, new_quantities[sku])
        total += gross - discount
    return _Amendment(lines, new_quantities, address, changes, total)


def _line_price(order: Order, line: OrderLine, quantity: int) -> tuple[int, int]:
    """(gross, member discount) of ``quantity`` units of ``line`` at the order's prices and perks."""
    gross = line.unit_price_minor * quantity
    return gross, line_discount_minor(
        line_total_minor=gross, currency=order.currency, percent_off=order.perk_percent_off
    )


def _authorize_extra(order: Order, *, amount_minor: int):
    """A higher total after an amendment: authorize the difference on the same card.

    On failure the reservation goes back to the old quantities and the error is raised (402 on a decline).
    """
    try:
        with saga.step(order, "authorize_extra"):
            return payment_services.payment_authorize(
                saga.payment_request(
                    order,
                    amount_minor=amount_minor,
                    idempotency_key=f"{order.number}:amend:{order.amendment_count + 1}",
                )
            )
    except Exception:
        inventory_services.stock_reservation_amend(
            reference=order.stock_reference,
            lines=[inventory_services.StockLine(sku=line.sku, quantity=line.quantity) for line in order.lines.all()],
        )
        raise


def _amendment_apply(order: Order, amendment: _Amendment, *, reservation, extra_payment, by) -> Order:
    """Stock and money are secured: rewrite the lines and totals, record and announce, in one transaction."""
    with transaction.atomic():
        order = saga.lock(order)
        if extra_payment is not None:
            OrderPayment.objects.get_or_create(
                payment_id=extra_payment.id,
                defaults={"order": order, "amount_minor": extra_payment.amount_minor, "purpose": "amendment"},
            )
            order.authorized_minor += extra_payment.amount_minor
        _lines_rewrite(order, amendment, reservation)
        order.shipping_address = amendment.address
        order.amendment_count += 1
        order.save()
        note_add(
            order,
            kind=OrderNote.Kind.AMEND,
            actor="staff" if (by is not None and getattr(by, "is_staff", False)) else "customer",
            by=by,
            text="; ".join(amendment.changes),
        )
        publish(
            OrderAmended(
                correlation_id=order.number,
                order_number=order.number,
                user_id=saga.user_id_of(order),
                customer_email=order.email,
                currency=order.currency,
                total_minor=order.total_minor,
                shipping_address=order.shipping_address,
                lines=[line.as_payload() for line in order.lines.all()],
                changes=amendment.changes,
            )
        )
    return order


def _lines_rewrite(order: Order, amendment: _Amendment, reservation) -> None:
    """New quantities, discounts and warehouse allocations on the lines; the order's totals follow."""
    allocations: dict[str, list[dict]] = {}
    for a in reservation.allocations:
        allocations.setdefault(a.sku, []).append({"warehouse_code": a.warehouse_code, "quantity": a.quantity})
    subtotal = discount = 0
    for sku, line in amendment.lines.items():
        qty = amendment.quantities[sku]
        if qty == 0:
            line.delete()
            continue
        gross, line_discount = _line_price(order, line, qty)
        line.quantity = qty
        line.discount_minor = line_discount
        line.line_total_minor = gross - line_discount
        line.allocations = allocations.get(sku, [])
        line.save()
        subtotal += gross
        discount += line_discount
    order.subtotal_minor = subtotal
    order.discount_minor = discount
    order.total_minor = subtotal - discount + order.shipping_minor
