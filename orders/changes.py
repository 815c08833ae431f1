"""Changes to a placed order before it ships: cancel, hold and release, amend."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.locks import ORDER_NAMESPACE, advisory_session_lock, advisory_session_lock_try
from flowmart.notes import note_add
from flowmart.transitions import transition_apply
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from orders import saga
from orders.basket import sale_window_check
from orders.checkout import address_clean
from orders.errors import CheckoutInProgress, CheckoutInvalid, OrderActionNotAllowed
from orders.events import OrderAmended, OrderOnHold
from orders.models import Order, OrderLine, OrderNote, OrderPayment, OrderStatus, SagaStatus
from orders.pricing import Perks, line_discount_minor, lines_payload, shipping_quote_for
from payments import services as payment_services
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services


def order_lock(order: Order):
    """Hold the order's lock across an amendment, a hold or a cancel (outside calls included; no transaction):
    a second one, a label purchase (shipping) and a dispatch (``order_mark_shipped``) wait for it."""
    return advisory_session_lock(ORDER_NAMESPACE, order.number)


# -- cancel ----------------------------------------------------------------------------------
# Parcels stop first (docs/orders.md §Holds, cancels and parcels): these states may have a parcel at the warehouse.
_PARCELS_MAY_WAIT = (OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.ON_HOLD)


def order_cancel(
    *, order: Order, by=None, actor: str = "customer", reason: str = "", dispatched_allowed: bool = True
) -> Order:
    """Cancel: a customer before dispatch, staff before delivery (``dispatched_allowed=False``: before dispatch,
    the Support role's cancel). Compensates (void/refund, release).

    The order's parcels are stopped first (labels voided with the carrier): a parcel the carrier already has
    cannot be cancelled, so neither can the order (409 ``order_dispatched``); it follows the parcel (captured,
    committed) and is flagged for staff. Staff cancel a shipped order (refund) only once it is settled.
    """
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
    if order.status == OrderStatus.SHIPPED and not order.stock_committed:
        raise OrderActionNotAllowed(
            "The parcel has left and the order is still being settled; cancel it (refund) once it is.",
            code="order_dispatched",
        )
    reason = reason or ("cancelled by the customer" if actor == "customer" else "cancelled by staff")
    if order.status in _PARCELS_MAY_WAIT:
        with order_lock(order), _parcels_stop_written(order, action="cancel", actor=actor, reason=reason, by=by):
            return _cancel_stopping_parcels(order, actor=actor, reason=reason, by=by)
    return saga.compensate(order=order, target=OrderStatus.CANCELLED, reason=reason, actor=actor, by=by)


def _cancel_stopping_parcels(order: Order, *, actor: str, reason: str, by) -> Order:
    """The order's lock is held and the cancel written down: stop the parcels, then compensate. Once the
    compensation has begun the saga carries the cancel (its sweeper finishes it), so the note is cleared."""
    _parcels_stop(order, reason=reason, cancel=True, asked=f"{actor} asked to cancel")
    order = saga.compensate(order=order, target=OrderStatus.CANCELLED, reason=reason, actor=actor, by=by)
    _parcels_stop_end(order)
    return order


def _parcels_stop(order: Order, *, reason: str, cancel: bool, asked: str) -> None:
    """Void the order's labels before it is held or cancelled; if a parcel had already left, the order follows
    it: flagged for staff (the dispatch event ships and settles it) and 409 ``order_dispatched``."""
    stop = shipping_services.shipments_stop_for_order(order_number=order.number, reason=reason, cancel=cancel)
    if not stop.parcel_left:
        return
    Order.objects.filter(pk=order.pk).update(
        failure_code="parcel_left",
        failure_detail=(
            f"{asked} ({reason}) at {timezone.now():%Y-%m-%d %H:%M} UTC, but parcel {', '.join(stop.dispatched)} "
            "had already been picked up: the order follows the parcel (captured, stock committed); "
            "talk to the customer (a return)."
        )[:500],
    )
    raise OrderActionNotAllowed(
        "The parcel has already been picked up by the carrier; please start a return once it arrives.",
        code="order_dispatched",
    )


# -- a hold or cancel survives its process ----------------------------------------------------
# Stopping the parcels and changing the order cannot be one transaction (the carrier is called in between). So
# the hold or cancel is written on the order first; a process killed after it began stopping the parcels leaves
# the note, and the sweeper does the hold or cancel again (``order_parcels_stop_finish``).
@contextmanager
def _parcels_stop_written(order: Order, *, action: str, actor: str, reason: str, by, expected_delay_days: int = 0):
    """Write down the hold or cancel about to stop the order's parcels (the order's lock is held). A definite no
    (a parcel had left; the carrier did not answer and the parcels were let go) is the caller's answer and leaves
    nothing to finish; any other end of the block leaves the note to whoever clears it or to the sweeper."""
    asked = {"action": action, "actor": actor, "reason": reason, "by_id": getattr(by, "pk", None)}
    if action == "hold":
        asked["expected_delay_days"] = expected_delay_days
    Order.objects.filter(pk=order.pk).update(parcels_stop=asked, parcels_stop_started_at=timezone.now())
    try:
        yield
    except (OrderActionNotAllowed, shipping_services.CarrierUnavailable):
        _parcels_stop_end(order)
        raise


def _parcels_stop_end(order: Order) -> None:
    Order.objects.filter(pk=order.pk).update(parcels_stop=None, parcels_stop_started_at=None)


def order_parcels_stop_finish(*, order: Order) -> bool:
    """The sweeper: finish a hold or cancel whose process died while it stopped the order's parcels (marked held,
    label voided or not, parcels cancelled, order unchanged). Only when no process holds the order's lock (the
    one that began it holds it until it is done). A parcel that left meanwhile: the order follows it (flagged); a
    carrier that does not answer: tried again at the next sweep. True if the note was dealt with."""
    with advisory_session_lock_try(ORDER_NAMESPACE, order.number) as free:
        if not free:
            return False
        order = Order.objects.get(pk=order.pk)
        asked = order.parcels_stop
        if not asked:
            return False
        by = get_user_model().objects.filter(pk=asked.get("by_id")).first() if asked.get("by_id") else None
        actor, reason = asked["actor"], asked["reason"]
        compensating = order.saga_status in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED)
        try:
            if asked["action"] == "cancel" and not compensating:
                _cancel_stopping_parcels(order, actor=actor, reason=reason, by=by)
            elif asked["action"] == "hold" and order.status in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
                delay = asked.get("expected_delay_days") or 3
                _hold_stopping_parcels(order, reason=reason, by=by, actor=actor, expected_delay_days=delay)
            else:  # cancelled by the saga already, or held meanwhile: nothing is left to do
                _parcels_stop_end(order)
        except OrderActionNotAllowed:  # a parcel had left: the order follows it (flagged for staff)
            _parcels_stop_end(order)
        except shipping_services.CarrierUnavailable:
            return False
    return True


# -- hold and release ---------------------------------------------------------------------------
def order_hold(*, order: Order, reason: str, by=None, actor: str = "staff", expected_delay_days: int = 3) -> Order:
    """Stock turned out short (or staff need to check something): the order waits; the customer is told.

    Its parcels are stopped first: labels voided, no new label until the hold is released. A parcel the
    carrier already has cannot be held: 409 ``order_dispatched``, and the order follows the parcel.
    """
    order = Order.objects.get(pk=order.pk)
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        raise OrderActionNotAllowed("Only confirmed orders can be put on hold.")
    with (
        order_lock(order),
        _parcels_stop_written(
            order, action="hold", actor=actor, reason=reason, by=by, expected_delay_days=expected_delay_days
        ),
    ):
        return _hold_stopping_parcels(order, reason=reason, by=by, actor=actor, expected_delay_days=expected_delay_days)


def _hold_stopping_parcels(order: Order, *, reason: str, by, actor: str, expected_delay_days: int) -> Order:
    """The order's lock is held and the hold written down: stop the parcels, then hold the order (the note is
    cleared with that commit)."""
    _parcels_stop(order, reason=reason, cancel=False, asked=f"{actor} asked to hold")
    with transaction.atomic():
        order = saga.lock(order)
        moved_on = order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING)
        if not moved_on:
            _hold_apply(order, reason=reason, by=by, actor=actor, expected_delay_days=expected_delay_days)
    if moved_on:  # its parcels go on as the order's state says
        shipping_services.shipments_release_for_order(order_number=order.number)
        raise OrderActionNotAllowed("Only confirmed orders can be put on hold.")
    return order


def _hold_apply(order: Order, *, reason: str, by, actor: str, expected_delay_days: int) -> None:
    """Locked order, caller's transaction."""
    order.hold_reason = reason[:255]
    order.parcels_stop, order.parcels_stop_started_at = None, None
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


def order_stock_reserve_again(*, order: Order) -> Order:
    """Inventory let a confirmed order's reservation expire: hold the stock again, else put the order on hold."""
    order = Order.objects.get(pk=order.pk)
    if order.stock_reserved or order.status not in (OrderStatus.CONFIRMED, OrderStatus.FULFILLING):
        return order
    try:
        _reserve_again(order)
    except inventory_services.InsufficientStock as exc:
        try:
            return order_hold(
                order=order,
                actor="system",
                reason=f"Some items turned out to be out of stock ({exc.detail})",
            )
        except OrderActionNotAllowed:  # its parcel left meanwhile: the order follows it (flagged for staff)
            return Order.objects.get(pk=order.pk)
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
    """Back to ``confirmed`` (or ``fulfilling`` when it had been labelled: the customer may not amend again);
    its parcels get labels again. If the stock had been lost, it must be reservable again first (else 409)."""
    order = Order.objects.get(pk=order.pk)
    if order.status == OrderStatus.ON_HOLD and not order.stock_reserved:
        _reserve_again(order)
    with transaction.atomic():
        order = saga.lock(order)
        if order.status != OrderStatus.ON_HOLD:
            raise OrderActionNotAllowed("This order is not on hold.")
        name = "resume_fulfilment" if order.labelled_at else "release_hold"
        transition_apply(order, name, actor="staff", by=by, reason=reason)
        shipping_services.shipments_release_for_order(order_number=order.number)
    return order


# -- amend ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _NewLine:
    """What the amendment needs of a SKU: the order's line, or today's catalog entry for a SKU it adds."""

    sku: str
    name: str
    variant_name: str
    unit_price_minor: int
    weight_grams: int
    line: OrderLine | None  # None: a SKU the amendment adds


@dataclass(frozen=True)
class _Amendment:
    """A validated change: every SKU (the order's and added ones), their new quantities (0 removes), the
    address, shipping re-quoted for the new contents and address, and the new total."""

    lines: dict[str, _NewLine]
    quantities: dict[str, int]
    address: dict
    changes: list[str]
    shipping_minor: int
    total_minor: int
    amendment_count: int  # the order's count when it was prepared: a concurrent change makes it stale


def order_amend(
    *, order: Order, quantities: dict[str, int] | None = None, shipping_address: dict | None = None, by=None
) -> Order:
    """Before the first label: change quantities (0 removes a line), add a SKU, and/or change the address.

    Holds the order's lock throughout (``order_lock``): a second amendment, a hold or cancel, a label purchase
    and a dispatch wait for it. Shipping is re-quoted for the new contents and address (the chosen method at
    today's rates and the order's perks). Stock is re-reserved all or nothing; a higher total is covered by an
    extra authorization, a lower one is released at capture (only the new total is ever captured).
    """
    with order_lock(order):
        order = Order.objects.get(pk=order.pk)
        amendment = _amendment_prepare(order, quantities=quantities or {}, shipping_address=shipping_address)
        _not_labelled_check(order)
        with saga.step(order, "amend_reservation"):
            reservation = inventory_services.stock_reservation_amend(
                reference=order.stock_reference,
                lines=[inventory_services.StockLine(sku=s, quantity=q) for s, q in amendment.quantities.items() if q],
            )
        extra_payment = None
        if amendment.total_minor > order.authorized_minor:
            extra_payment = _authorize_extra(order, amount_minor=amendment.total_minor - order.authorized_minor)
        return _amendment_apply(order, amendment, reservation=reservation, extra_payment=extra_payment, by=by)


def _not_labelled_check(order: Order) -> None:
    """A parcel already labelled would print the old contents: too late to amend (label purchases wait for the
    order's lock, so none can appear while the amendment runs)."""
    labelled = [
        s.number
        for s in shipping_selectors.shipments_for_order(order_number=order.number)
        if s.kind == "order" and s.status not in ("pending", "cancelled")
    ]
    if labelled:
        raise OrderActionNotAllowed("This order is being packed and can no longer be changed.")


def _amendment_prepare(order: Order, *, quantities: dict, shipping_address: dict | None) -> _Amendment:
    """Validate the change (read-only) and price it, shipping included."""
    if not order.can_amend():
        raise OrderActionNotAllowed("This order can no longer be changed.")
    quantities = {str(k): v for k, v in quantities.items()}
    for sku, qty in quantities.items():
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            raise CheckoutInvalid(f"Quantity for {sku} must be 0 or more.", code="quantity_not_allowed")
        if qty > settings.BASKET_MAX_QUANTITY:
            raise CheckoutInvalid(
                f"You can buy at most {settings.BASKET_MAX_QUANTITY} of one item.", code="quantity_not_allowed"
            )
    lines = {
        line.sku: _NewLine(line.sku, line.name, line.variant_name, line.unit_price_minor, line.weight_grams, line)
        for line in order.lines.all()
    }
    lines.update(_added_lines(order, {sku: q for sku, q in quantities.items() if sku not in lines and q}))
    new_quantities = {sku: quantities.get(sku, line.line.quantity if line.line else 0) for sku, line in lines.items()}
    if not any(new_quantities.values()):
        raise CheckoutInvalid("An order needs at least one item; cancel the order instead.", code="order_empty")
    address = address_clean(shipping_address) if shipping_address is not None else order.shipping_address
    changes = []
    for sku, qty in new_quantities.items():
        before = lines[sku].line.quantity if lines[sku].line else 0
        if qty != before:
            changes.append(f"{lines[sku].name}: {before} → {qty}" if before else f"{lines[sku].name}: added {qty}")
    if address != order.shipping_address:
        changes.append("shipping address changed")
    if not changes:
        raise CheckoutInvalid("Nothing to change.", code="nothing_to_change")
    subtotal = discount = 0
    for sku, line in lines.items():
        gross, line_discount = _line_price(order, line.unit_price_minor, new_quantities[sku])
        subtotal += gross
        discount += line_discount
    quote = shipping_quote_for(
        method_code=order.shipping_method,
        address=address,
        lines=[
            {"sku": sku, "quantity": qty, "weight_grams": lines[sku].weight_grams}
            for sku, qty in new_quantities.items()
            if qty
        ],
        subtotal_minor=subtotal - discount,
        currency=order.currency,
        perks=Perks(percent_off=order.perk_percent_off, free_shipping=order.perk_free_shipping),
    )
    if quote.price_minor != order.shipping_minor:
        changes.append(f"shipping {order.shipping_minor} → {quote.price_minor}")
    return _Amendment(
        lines,
        new_quantities,
        address,
        changes,
        quote.price_minor,
        subtotal - discount + quote.price_minor,
        order.amendment_count,
    )


def _added_lines(order: Order, added: dict[str, int]) -> dict[str, _NewLine]:
    """SKUs the amendment adds: on sale now (to this customer), in the order's currency, at today's price."""
    if not added:
        return {}
    variants = inventory_selectors.variants_by_sku(skus=sorted(added))
    unknown = sorted(sku for sku in added if sku not in variants or not variants[sku].is_active)
    if unknown:
        raise CheckoutInvalid(f"{', '.join(unknown)} is not for sale.", code="unknown_line")
    lines = {}
    for sku in added:
        variant = variants[sku]
        sale_window_check(variant=variant, user=order.user)
        if variant.currency != order.currency:
            raise CheckoutInvalid(f"{sku} is not sold in {order.currency}.", code="unknown_line")
        lines[sku] = _NewLine(
            sku, variant.product_name, variant.variant_name, variant.price_minor, variant.weight_grams, None
        )
    return lines


def _line_price(order: Order, unit_price_minor: int, quantity: int) -> tuple[int, int]:
    """(gross, member discount) of ``quantity`` units at ``unit_price_minor`` with the order's perks."""
    gross = unit_price_minor * quantity
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
        _reservation_restore(order)
        raise


def _reservation_restore(order: Order) -> None:
    inventory_services.stock_reservation_amend(
        reference=order.stock_reference,
        lines=[inventory_services.StockLine(sku=line.sku, quantity=line.quantity) for line in order.lines.all()],
    )


def _amendment_apply(order: Order, amendment: _Amendment, *, reservation, extra_payment, by) -> Order:
    """Stock and money are secured: rewrite the lines and totals, record and announce, in one transaction.

    The order is checked again under its row lock: if it moved on meanwhile (it should not, under the order's
    lock), the stock goes back, the extra authorization is voided and the amendment is refused."""
    with transaction.atomic():
        order = saga.lock(order)
        stale = not order.can_amend() or order.amendment_count != amendment.amendment_count
        if not stale:
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
                    lines=lines_payload(order),
                    changes=amendment.changes,
                )
            )
    if stale:
        if not order.stock_committed and order.status in _PARCELS_MAY_WAIT:
            _reservation_restore(order)  # back to the lines the order has now
        if extra_payment is not None:
            payment_services.payment_void(payment_id=extra_payment.id, reason="amendment overtaken")
        raise OrderActionNotAllowed("This order changed meanwhile; look at it again before amending.")
    return order


def _lines_rewrite(order: Order, amendment: _Amendment, reservation) -> None:
    """New quantities, discounts and warehouse allocations on the lines (added SKUs get a line); the order's
    totals follow."""
    allocations: dict[str, list[dict]] = {}
    for a in reservation.allocations:
        allocations.setdefault(a.sku, []).append({"warehouse_code": a.warehouse_code, "quantity": a.quantity})
    subtotal = discount = 0
    for sku, new in amendment.lines.items():
        qty = amendment.quantities[sku]
        if qty == 0:
            if new.line is not None:
                new.line.delete()
            continue
        gross, line_discount = _line_price(order, new.unit_price_minor, qty)
        line = new.line or OrderLine(
            order=order,
            sku=sku,
            name=new.name,
            variant_name=new.variant_name,
            unit_price_minor=new.unit_price_minor,
            weight_grams=new.weight_grams,
        )
        line.quantity = qty
        line.discount_minor = line_discount
        line.line_total_minor = gross - line_discount
        line.allocations = allocations.get(sku, [])
        line.save()
        subtotal += gross
        discount += line_discount
    order.subtotal_minor = subtotal
    order.discount_minor = discount
    order.shipping_minor = amendment.shipping_minor
    order.total_minor = subtotal - discount + amendment.shipping_minor
