"""After the parcel: returns settled (refund or exchange), refunds booked or rejected, parcels returned to
sender, exchange parcels dispatched."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowmart.errors import FlowMartError
from flowmart.events.publisher import publish
from flowmart.notes import note_add
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from orders import refunds, saga
from orders.errors import OrderActionNotAllowed
from orders.events import OrderRefunded
from orders.models import Order, OrderNote, OrderPayment, OrderRefund, OrderStatus
from orders.pricing import lines_charged_minor
from payments import selectors as payment_selectors
from payments import services as payment_services
from shipping import selectors as shipping_selectors
from shipping import services as shipping_services

log = structlog.get_logger(__name__)


# -- a return arrived ------------------------------------------------------------------------
def order_return_settle(
    *,
    order: Order,
    rma_number: str,
    decision: str,
    refund_minor: int,
    lines: list[dict],
    warehouse_code: str,
    exchange_charge_minor: int = 0,
) -> Order:
    """A return arrived: refund through payments, restock through inventory, tell shipping it is refunded
    (or send the exchange). Done once per RMA: a redelivered ``ReturnReceived`` finds it in the ledger."""
    order = Order.objects.get(pk=order.pk)
    done = saga.ledger_entry("return", rma_number)
    if saga.ledger_has(order, done):
        return order
    if decision == "refund" and refund_minor > 0:
        _return_refund(order, rma_number=rma_number, amount_minor=refund_minor)
    _restock_inspected(order, rma_number=rma_number, lines=lines, warehouse_code=warehouse_code or None)
    if decision == "refund" and refunds.return_refund_complete(order=order, rma_number=rma_number):
        shipping_services.return_mark_refunded(rma_number=rma_number)
    elif decision == "exchange":
        _exchange_send(
            order,
            rma_number=rma_number,
            lines=lines,
            warehouse_code=warehouse_code,
            difference_minor=refund_minor,
            charge_minor=exchange_charge_minor,
        )
    saga.ledger_add(order, done)
    return Order.objects.get(pk=order.pk)


def _restock_inspected(order: Order, *, rma_number: str, lines: list[dict], warehouse_code: str | None) -> None:
    """The inspection decides: ``resellable`` units go back on sale (ledger ``return``), ``damaged`` ones are
    written off (``return`` then ``return_damaged``: counted, never on sale), ``missing`` ones never arrived.
    A line without a condition (an event from before inspections) is resellable."""
    note = f"return {rma_number}"
    by_condition: dict[str, list[dict]] = {"resellable": [], "damaged": []}
    for line in lines:
        condition = line.get("condition") or "resellable"
        if condition in by_condition:
            by_condition[condition].append(line)
    _restock(
        order, step_name="restock_return", lines=by_condition["resellable"], warehouse_code=warehouse_code, note=note
    )
    _restock(
        order,
        step_name="write_off_return",
        lines=by_condition["damaged"],
        warehouse_code=warehouse_code,
        note=note,
        write_off=True,
    )


def _return_refund(order: Order, *, rma_number: str, amount_minor: int) -> None:
    """Refund ``amount_minor`` across the order's payments (what each has captured and not refunded)."""
    left = amount_minor
    for payment in order.payments.all():
        asked = list(payment.refunds.filter(rma_number=rma_number))
        if asked:  # a re-run after a crash: this payment's part was asked for already
            left -= sum(r.amount_minor for r in asked)
        else:
            left -= _payment_refund_for_return(order, payment, rma_number=rma_number, up_to_minor=left)
        if left <= 0:
            break


def _payment_refund_for_return(order: Order, payment: OrderPayment, *, rma_number: str, up_to_minor: int) -> int:
    """Refund what this payment can give towards the return; returns the amount asked for."""
    waiting = refunds.refund_waiting_minor(payment=payment)
    take = min(up_to_minor, payment.captured_minor - payment.refunded_minor - waiting)
    if take <= 0:
        return 0
    with saga.step(order, "refund_return") as attempt:
        info = payment_services.payment_refund(
            payment_id=payment.payment_id,
            amount_minor=take,
            reason=f"return {rma_number}",
            idempotency_key=f"{order.number}:return:{rma_number}:{payment.payment_id}",
        )
        with transaction.atomic():
            refund, booked = refunds.refund_record(
                order=order, payment=payment, info=info, purpose=OrderRefund.Purpose.RETURN, rma_number=rma_number
            )
            attempt.succeed()
            if booked:
                publish(
                    OrderRefunded(
                        correlation_id=order.number,
                        order_number=order.number,
                        user_id=saga.user_id_of(order),
                        customer_email=order.email,
                        rma_number=rma_number,
                        refunded_minor=take,
                        currency=order.currency,
                    )
                )
    # Waiting for Finance: booked (and the return marked refunded) when PaymentRefunded arrives.
    refunds.refund_catch_up(refund=refund)
    return take


def _restock(
    order: Order,
    *,
    step_name: str,
    lines: list[dict],
    warehouse_code: str | None = None,
    note: str = "customer return",
    write_off: bool = False,
) -> None:
    stock_lines = [
        inventory_services.StockLine(sku=line["sku"], quantity=int(line["quantity"]))
        for line in lines
        if int(line.get("quantity", 0)) > 0
    ]
    if not stock_lines:
        return
    with saga.step(order, step_name):
        inventory_services.stock_return(
            reference=order.stock_reference,
            lines=stock_lines,
            warehouse_code=warehouse_code,
            note=note,
            write_off=write_off,
        )


# -- exchanges ---------------------------------------------------------------------------------
def order_exchange_request(
    *, order: Order, user_id: str | None, lines: list[dict], reason: str, reason_code: str = "other", by=None
):
    """The customer asks to exchange delivered items for another variant of the same product (``lines``:
    [{sku, quantity, replacement_sku}]). Each replacement must be a variant of the same product on sale. It is
    priced at the customer's own discount on that line, so a same-price swap costs nothing, a cheaper one refunds
    the difference once it ships and a dearer one is charged the difference on the order's card when it is
    reserved. Shipping records the return (``return_request``)."""
    order_lines = {line.sku: line for line in order.lines.all()}
    charged = dict(zip(order_lines, lines_charged_minor(order), strict=True))
    wanted = {str(line.get("replacement_sku") or "").strip() for line in lines} - {""}
    variants = inventory_selectors.variants_by_sku(skus=sorted(wanted | set(order_lines)))
    exchange: dict[str, dict] = {}
    for line in lines:
        sku, replacement_sku = str(line.get("sku") or ""), str(line.get("replacement_sku") or "").strip() or None
        ordered, replacement = order_lines.get(sku), variants.get(replacement_sku or sku)
        original = variants.get(sku)
        if ordered is None:
            continue  # shipping answers for items not in the order
        if (
            replacement is None
            or not replacement.is_active
            or original is None
            or (replacement.product_slug != original.product_slug)
        ):
            raise shipping_services.ReturnNotAllowed(
                f"{replacement_sku or sku} is not another variant of {ordered.name} that we sell.",
                code="exchange_variant_invalid",
                errors={"lines": [f"{sku}: {replacement_sku or sku} cannot replace it"]},
            )
        gross = ordered.unit_price_minor * ordered.quantity
        # The customer's own discount on this line applies to the replacement (rounded half up, in minor units).
        unit = (replacement.price_minor * charged[sku] * 2 + gross) // (2 * gross) if gross else 0
        exchange[sku] = {"replacement_sku": replacement.sku, "replacement_unit_minor": unit}
    return shipping_services.return_request(
        order_number=order.number,
        user_id=user_id,
        lines=[{"sku": line.get("sku"), "quantity": line.get("quantity")} for line in lines],
        reason=reason,
        reason_code=reason_code,
        exchange=exchange,
        by=by,
    )


def exchange_reference(order_number: str, rma_number: str) -> str:
    return f"{order_number}:{rma_number}"


def _exchange_send(
    order: Order,
    *,
    rma_number: str,
    lines: list[dict],
    warehouse_code: str,
    difference_minor: int = 0,
    charge_minor: int = 0,
) -> bool:
    """Reserve the replacements, charge ``charge_minor`` (dearer replacements) on the order's card, have shipping
    send them, then refund ``difference_minor`` (the customer paid more for the returned units than the
    replacements cost). If they cannot all be reserved nothing ships and nothing moves yet: the return waits for
    stock (``awaiting_stock``) and ``exchanges_waiting_retry`` tries again (or refunds it all). If the charge is
    declined the replacements are released and the return is refunded instead. True if sent."""
    replacements = [
        {"sku": line.get("replacement_sku") or line["sku"], "name": line.get("name", ""), "quantity": line["quantity"]}
        for line in lines
        if (line.get("condition") or "resellable") != "missing"
    ]
    if not replacements:
        return False
    try:
        _reserve_replacements(order, rma_number=rma_number, lines=replacements)
    except inventory_services.InsufficientStock as exc:
        # Never ship from stock that is someone else's: the parcel waits until the units are ours.
        short = ", ".join(f"{s['sku']} ({s['available']} of {s['requested']})" for s in exc.shortages)
        shipping_services.return_await_stock(rma_number=rma_number, detail=short)
        return False
    if charge_minor > 0 and not _exchange_charge(order, rma_number=rma_number, amount_minor=charge_minor):
        inventory_services.stock_release(
            reference=exchange_reference(order.number, rma_number), reason="exchange difference declined"
        )
        _exchange_refund(order, rma_number=rma_number, reason="The price difference could not be charged")
        return False
    shipping_services.shipment_create_for_exchange(
        order_number=order.number, rma_number=rma_number, lines=replacements, warehouse_code=warehouse_code
    )
    if difference_minor > 0:
        _return_refund(order, rma_number=rma_number, amount_minor=difference_minor)
    shipping_services.return_mark_exchanged(rma_number=rma_number)
    return True


def _exchange_charge(order: Order, *, rma_number: str, amount_minor: int) -> bool:
    """Charge (authorize + capture) the price difference of dearer replacements on the order's card, three
    phases: the ``charge_exchange`` step is the intent, payments is called with no transaction open under the key
    ``<number>:exchange:<rma>`` (a re-run gets the same payment, money moves once), and the payment is recorded
    on the order with the step. False if the card declined or is no longer valid; a gateway outage raises (the
    command retries: under the same key, or a new one once payments failed that payment, below)."""
    key = _exchange_charge_key(order, rma_number=rma_number)
    try:
        with saga.step(order, "charge_exchange") as attempt:
            info = payment_services.payment_charge(
                saga.payment_request(order, amount_minor=amount_minor, idempotency_key=key)
            )
            with transaction.atomic():
                locked = saga.lock(order)
                _, created = OrderPayment.objects.get_or_create(
                    payment_id=info.id,
                    defaults={
                        "order": locked,
                        "amount_minor": info.amount_minor,
                        "captured_minor": info.amount_minor,
                        "purpose": "exchange",
                    },
                )
                if created:
                    locked.captured_minor += info.amount_minor
                    locked.save(update_fields=["captured_minor", "updated_at"])
                attempt.succeed()
    except (payment_services.PaymentDeclined, payment_services.InvalidPaymentMethod) as exc:
        log.info("exchange difference declined", order=order.number, rma=rma_number, code=exc.code)
        return False
    return True


def _exchange_charge_key(order: Order, *, rma_number: str) -> str:
    """``<number>:exchange:<rma>``, or ``…:<n>`` for the n-th try once the gateway never answered the earlier ones.

    A payment whose every answer was lost and that the gateway could not find by its key is failed for good
    (``gateway_unavailable``: nothing was captured; a hold it made is voided by the stray-hold sweep), and the
    same key replays that failure: the retry charges under the next key. A payment still pending (its process
    died) keeps its key, so the retry gets its answer and money moves once."""
    first = f"{order.number}:exchange:{rma_number}"
    key, tries = first, 1
    while (
        (info := payment_selectors.payment_for_key(idempotency_key=key)) is not None
        and info.status == "failed"
        and info.decline_code == "gateway_unavailable"
    ):
        tries += 1
        key = f"{first}:{tries}"
    return key


def _reserve_replacements(order: Order, *, rma_number: str, lines: list[dict]) -> None:
    """Hold the replacement units of an exchange (committed when the exchange parcel is dispatched), all or
    none; raises ``InsufficientStock`` (the failed ``reserve_exchange`` step records it)."""
    with saga.step(order, "reserve_exchange"):
        inventory_services.stock_reserve(
            reference=exchange_reference(order.number, rma_number),
            lines=[inventory_services.StockLine(sku=ln["sku"], quantity=int(ln["quantity"])) for ln in lines],
            ttl_minutes=settings.ORDERS_RESERVATION_TTL_MINUTES,
        )


def exchanges_waiting_retry(*, now=None) -> int:
    """The sweeper (beat): try again every exchange waiting for its replacement; one that waited longer than
    ``RETURN_EXCHANGE_WAIT_DAYS`` since it was received becomes a refund of what was paid for the returned
    goods. Returns how many were sent or refunded. Safe to run again and in parallel (reservation by
    reference, shipment per RMA, refund key per RMA and payment)."""
    now = now or timezone.now()
    settled = 0
    for rma in shipping_selectors.returns_awaiting_stock():
        order = Order.objects.filter(number=rma.order_number).first()
        if order is None:
            continue
        lines = [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "replacement_sku": line.replacement_sku,
                "condition": line.condition,
            }
            for line in rma.lines.all()
        ]
        if _replacements_available(lines) and _exchange_send(
            order,
            rma_number=rma.rma_number,
            lines=lines,
            warehouse_code=rma.warehouse_code,
            difference_minor=rma.refund_minor,
            charge_minor=rma.exchange_charge_minor,
        ):
            settled += 1
        elif rma.received_at and rma.received_at <= now - timedelta(days=settings.RETURN_EXCHANGE_WAIT_DAYS):
            _exchange_refund(order, rma_number=rma.rma_number)
            settled += 1
    return settled


def _replacements_available(lines: list[dict]) -> bool:
    """Worth a try: the replacements look available (the reservation decides, under the stock lock). Spares a
    failed ``reserve_exchange`` step every sweep while nothing came in."""
    wanted: dict[str, int] = {}
    for line in lines:
        if (line.get("condition") or "resellable") != "missing":
            sku = line.get("replacement_sku") or line["sku"]
            wanted[sku] = wanted.get(sku, 0) + int(line["quantity"])
    return all(inventory_selectors.available_quantity(sku=sku) >= qty for sku, qty in wanted.items())


def _exchange_refund(order: Order, *, rma_number: str, reason: str = "Replacement still out of stock") -> None:
    """The replacement never came (or could not be paid for): shipping turns the return into a refund and the
    money goes back."""
    rma = shipping_services.return_exchange_to_refund(rma_number=rma_number, reason=reason)
    if rma.refund_minor > 0:
        _return_refund(order, rma_number=rma_number, amount_minor=rma.refund_minor)
    if refunds.return_refund_complete(order=order, rma_number=rma_number):
        shipping_services.return_mark_refunded(rma_number=rma_number)


def order_exchange_dispatched(*, order_number: str, shipment_number: str) -> None:
    """The replacement parcel left: its reserved units become a sale."""
    shipment = next(
        (s for s in shipping_selectors.shipments_for_order(order_number=order_number) if s.number == shipment_number),
        None,
    )
    if shipment is None or not shipment.rma_number:
        return
    try:
        inventory_services.stock_commit(reference=exchange_reference(order_number, shipment.rma_number))
    except FlowMartError as exc:
        if exc.status >= 500:
            raise
        log.warning("exchange stock not committed", order=order_number, code=exc.code)


# -- refunds -----------------------------------------------------------------------------------
def order_refund_succeeded(*, refund_id: str, amount_minor: int) -> OrderRefund | None:
    """Payments moved the money of a refund orders asked for (``PaymentRefunded``): book it once, publish
    ``OrderRefunded`` and, for a return, mark it refunded at shipping. Caller's transaction (the handler's)."""
    return refunds.refund_succeeded(refund_id=refund_id, amount_minor=amount_minor)


def order_refund_rejected(*, refund_id: str, note: str) -> OrderRefund | None:
    """Finance rejected a refund orders asked for (``RefundRejected``): nothing is booked; the order needs
    staff attention. Caller's transaction (the handler's)."""
    return refunds.refund_rejected(refund_id=refund_id, note=note)


def order_refund_issue_resolve(*, order: Order, by=None, reason: str = "") -> Order:
    """Staff dealt with a rejected or failed refund: the order leaves the attention list."""
    with transaction.atomic():
        order = saga.lock(order)
        if order.failure_code not in refunds.REFUND_ATTENTION_CODES:
            raise OrderActionNotAllowed("This order has no refund waiting for staff.")
        detail = order.failure_detail
        order.failure_code = ""
        order.failure_detail = ""
        order.save(update_fields=["failure_code", "failure_detail", "updated_at"])
        note_add(
            order,
            kind=OrderNote.Kind.REFUND_ISSUE_RESOLVED,
            actor="staff",
            by=by,
            text=f"{detail} — {reason or 'resolved by staff'}",
        )
    return order


# -- returned to sender --------------------------------------------------------------------------
def order_returned_to_sender(*, order: Order, shipment_number: str, reason: str) -> Order:
    """The carrier gave up and the parcel went back to the warehouse: restock it and, when it was the
    whole order, refund and cancel. A partial parcel is left to staff (orders needing attention)."""
    order = Order.objects.get(pk=order.pk)
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.FULFILLING, OrderStatus.CONFIRMED):
        return order
    shipments = [s for s in shipping_selectors.shipments_for_order(order_number=order.number) if s.kind == "order"]
    parcel = next((s for s in shipments if s.number == shipment_number), None)
    if parcel is None:
        return order
    if order.stock_committed:
        _restock(
            order,
            step_name="restock_returned_parcel",
            lines=[{"sku": line.sku, "quantity": line.quantity} for line in parcel.lines],
        )
    if len(shipments) > 1:
        Order.objects.filter(pk=order.pk).update(
            failure_code="returned_to_sender", failure_detail=f"parcel {shipment_number}: {reason}"[:500]
        )
        return Order.objects.get(pk=order.pk)
    return saga.compensate(
        order=order, target=OrderStatus.CANCELLED, reason=f"returned to sender: {reason}", code="returned_to_sender"
    )
