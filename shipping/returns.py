"""Returns and exchanges (RMA): requested → approved / rejected; approved → received → refunded / exchanged.

Shipping records the parcel's way back and the inspection decision; the money (payments),
the stock (inventory) and the replacement order (orders) are moved by their owners on
``ReturnReceived``. Public through ``shipping.services``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from flowmart.errors import FlowMartError, NotFound
from flowmart.events.publisher import publish
from flowmart.money import Money
from flowmart.transitions import transition_record
from shipping.carriers import CarrierUnavailable, LabelRefused, Parcel, get_carrier
from shipping.events import ReturnApproved, ReturnInitiated, ReturnReceived, ReturnRejected
from shipping.models import ReturnLine, ReturnRequest, Shipment, ShipmentLine
from shipping.transitions import return_transition


class ReturnNotAllowed(FlowMartError):
    code = "return_not_allowed"
    status = 400
    title = "These items cannot be returned"
    variants = {
        "return_reason_required": "No reason for the return was given",
        "return_lines_required": "No item to return was chosen",
        "return_lines_invalid": "An item to return lacks a sku or a positive quantity",
        "not_delivered": "Nothing in the order has been delivered yet",
        "return_window_closed": "The return window of the order has closed",
        "return_quantity_exceeded": "More units than can still be returned",
        "return_decision_invalid": "A return is decided as refund or exchange",
        "return_reason_code_invalid": "The reason code is not one of the listed ones",
        "return_inspection_invalid": "An inspected line lacks a known condition, or a reason it is not refunded",
        "exchange_variant_invalid": "The replacement is not another variant of the same product on sale",
    }


class ReturnNotFound(NotFound):
    code = "return_not_found"
    title = "Return not found"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


def _who(rma: ReturnRequest) -> dict:
    return {
        "order_number": rma.order_number,
        "user_id": rma.user_id,
        "customer_email": rma.customer_email,
        "rma_number": rma.rma_number,
    }


def returnable_quantities(*, order_number: str, user_id: str | None, now=None) -> dict[int, int]:
    """{shipment_line id: quantity still returnable} for delivered lines inside the return window."""
    now = now or timezone.now()
    window_start = now - timedelta(days=settings.RETURN_WINDOW_DAYS)
    lines = ShipmentLine.objects.filter(
        shipment__order_number=order_number,
        shipment__user_id=user_id,
        shipment__kind=Shipment.Kind.ORDER,
        shipment__status=Shipment.Status.DELIVERED,
        shipment__delivered_at__gte=window_start,
    )
    requested = dict(
        ReturnLine.objects.filter(shipment_line__in=lines)
        .exclude(return_request__status=ReturnRequest.Status.REJECTED)
        .values_list("shipment_line")
        .annotate(total=Sum("quantity"))
        .values_list("shipment_line", "total")
    )
    return {line.pk: line.quantity - requested.get(line.pk, 0) for line in lines}


def _unit_charges(line: ShipmentLine) -> list[int]:
    """What each unit of a parcel line was charged after every discount: its ``charged_minor`` split over its
    units with ``Money.allocate`` (integer minor units, the remainder one unit each to the first units), so the
    units add up to exactly the line's charge. A line from before ``charged_minor`` falls back to its price."""
    charged = line.charged_minor if line.charged_minor is not None else line.unit_price_minor * line.quantity
    if line.quantity <= 0:
        return []
    return [share.amount_minor for share in Money(charged, "XXX").allocate([1] * line.quantity)]


def _charged_share(return_line: ReturnLine) -> int:
    """The charge of the units this return line brings back. A parcel line's units are handed out in the order
    they are asked back (earlier returns that were not rejected first), so however a line is returned in
    parts, its parts add up to exactly what was charged for it — never more."""
    earlier = (
        ReturnLine.objects.filter(shipment_line=return_line.shipment_line_id, id__lt=return_line.pk)
        .exclude(return_request__status=ReturnRequest.Status.REJECTED)
        .aggregate(total=Sum("quantity"))["total"]
        or 0
    )
    return sum(_unit_charges(return_line.shipment_line)[earlier : earlier + return_line.quantity])


def return_request(
    *,
    order_number: str,
    user_id: str | None,
    lines: list[dict],
    reason: str,
    reason_code: str = ReturnRequest.ReasonCode.OTHER,
    exchange: dict[str, dict] | None = None,
    by=None,
) -> ReturnRequest:
    """The customer asks to return delivered items (``lines``: [{sku, quantity}]) with a reason (and one of
    ``ReturnRequest.ReasonCode``: the shop's fault refunds the shipping too). Each line records what the
    customer paid for its units (``charged_minor``): the most a refund gives back for them.

    ``exchange`` (orders' ``order_exchange_request``, which checks the variants and prices them) maps a
    returned sku to ``{replacement_sku, replacement_unit_minor}``: the customer wants that variant instead,
    at that price per unit; the difference to what they paid is refunded at inspection.

    ``user_id`` ``None`` is a guest's order: the caller has checked the guest may open it (its session or
    signed link, ``flowmart.guest_orders``). Raises ``OrderNotFound`` (404) unless the order was shipped to
    this user (or, for ``None``, to a guest), and ``ReturnNotAllowed`` (400) for items not delivered,
    outside the window, or over-returned.
    """
    user_id = str(user_id) if user_id is not None else None
    reason = (reason or "").strip()
    if reason_code not in ReturnRequest.ReasonCode.values:
        raise ReturnNotAllowed(
            f"The reason code must be one of {', '.join(ReturnRequest.ReasonCode.values)}.",
            code="return_reason_code_invalid",
        )
    if not reason:
        raise ReturnNotAllowed("Tell us why you are returning the items.", code="return_reason_required")
    if not lines:
        raise ReturnNotAllowed("Choose at least one item to return.", code="return_lines_required")
    wanted: dict[str, int] = defaultdict(int)
    for line in lines:
        try:
            quantity = int(line["quantity"])
            sku = str(line["sku"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ReturnNotAllowed("Each line needs a sku and a quantity.", code="return_lines_invalid") from exc
        if quantity < 1:
            raise ReturnNotAllowed("Quantities must be at least 1.", code="return_lines_invalid")
        wanted[sku] += quantity

    with transaction.atomic():
        shipments = list(
            Shipment.objects.select_for_update()
            .filter(order_number=order_number, user_id=user_id, kind=Shipment.Kind.ORDER)  # None: IS NULL
            .order_by("-created_at", "number")  # lines are matched newest parcel first
        )
        if not shipments:
            raise OrderNotFound(f"No order {order_number}.")
        returnable = returnable_quantities(order_number=order_number, user_id=user_id)
        order_lines = list(
            ShipmentLine.objects.filter(pk__in=returnable).select_related("shipment").order_by("shipment__id", "id")
        )
        if not order_lines:
            delivered = [s for s in shipments if s.status == Shipment.Status.DELIVERED]
            if delivered:
                raise ReturnNotAllowed(
                    f"The {settings.RETURN_WINDOW_DAYS}-day return window of this order has closed.",
                    code="return_window_closed",
                )
            raise ReturnNotAllowed("Items can be returned once they have been delivered.", code="not_delivered")
        picks: list[tuple[ShipmentLine, int]] = []
        for sku, quantity in wanted.items():
            left = quantity
            for line in order_lines:
                if line.sku != sku or left == 0:
                    continue
                take = min(left, returnable[line.pk])
                if take > 0:
                    picks.append((line, take))
                    left -= take
            if left:
                available = sum(returnable[line.pk] for line in order_lines if line.sku == sku)
                raise ReturnNotAllowed(
                    f"You can return at most {available} of {sku}.",
                    code="return_quantity_exceeded",
                    errors={"lines": [f"{sku}: at most {available} can be returned"]},
                )
        first = picks[0][0].shipment
        rma = ReturnRequest.objects.create(
            order_number=order_number,
            user_id=user_id,
            customer_email=first.customer_email,
            currency=first.currency,
            warehouse_code=first.warehouse_code,
            reason=reason,
            reason_code=reason_code,
            requested=ReturnRequest.Decision.EXCHANGE if exchange else ReturnRequest.Decision.REFUND,
        )
        exchange = exchange or {}
        created = ReturnLine.objects.bulk_create(
            [
                ReturnLine(
                    return_request=rma,
                    shipment_line=line,
                    sku=line.sku,
                    name=line.name,
                    quantity=quantity,
                    unit_price_minor=line.unit_price_minor,
                    replacement_sku=exchange.get(line.sku, {}).get("replacement_sku", ""),
                    replacement_charged_minor=(
                        int(exchange[line.sku]["replacement_unit_minor"]) * quantity if line.sku in exchange else None
                    ),
                )
                for line, quantity in picks
            ]
        )
        for return_line in created:
            return_line.charged_minor = _charged_share(return_line)
            return_line.save(update_fields=["charged_minor"])
        transition_record(rma, from_state="", by=by, actor="customer", reason=reason)
        publish(
            ReturnInitiated(
                correlation_id=order_number,
                **_who(rma),
                reason=reason,
                lines=[
                    {
                        "sku": rl.sku,
                        "name": rl.name,
                        "quantity": rl.quantity,
                        "unit_price_minor": rl.unit_price_minor,
                        "charged_minor": rl.charged_minor,
                    }
                    for rl in rma.lines.all()
                ],
                currency=rma.currency,
            )
        )
    return rma


def _locked(rma_number: str) -> ReturnRequest:
    rma = ReturnRequest.objects.select_for_update().filter(rma_number=rma_number).first()
    if rma is None:
        raise ReturnNotFound(f"No return {rma_number}.")
    return rma


def _get(rma_number: str) -> ReturnRequest:
    rma = ReturnRequest.objects.filter(rma_number=rma_number).first()
    if rma is None:
        raise ReturnNotFound(f"No return {rma_number}.")
    return rma


def _return_label(rma: ReturnRequest):
    """Ask the carrier for a prepaid label from the customer back to the warehouse (no transaction open)."""
    shipment = (
        Shipment.objects.filter(order_number=rma.order_number, warehouse_code=rma.warehouse_code)
        .order_by("-created_at", "number")  # the latest parcel from that warehouse
        .first()
    )
    address = shipment.address if shipment else {}
    weight = sum(line.quantity * line.shipment_line.weight_grams for line in rma.lines.select_related("shipment_line"))
    # The carrier that delivered the parcel brings it back (its cheapest service).
    return get_carrier((shipment.carrier if shipment else "") or None).create_label(
        parcel=Parcel(
            reference=rma.rma_number,
            address=address,
            weight_grams=weight,
            is_return=True,
            warehouse_code=rma.warehouse_code,
        )
    )


def return_approve(*, rma_number: str, by=None) -> ReturnRequest:
    """Approve a requested return and issue its return label (``ReturnApproved``).

    A carrier outage raises ``CarrierUnavailable`` (503) and changes nothing: try again.
    """
    rma = _get(rma_number)
    if rma.status != ReturnRequest.Status.REQUESTED:
        with transaction.atomic():
            return_transition(_locked(rma_number), "approve", by=by)  # raises InvalidTransition
    label = None
    try:
        label = _return_label(rma)
    except LabelRefused:
        label = None  # staff send the customer an address to ship to; the return stays approved
    with transaction.atomic():
        rma = _locked(rma_number)
        return_transition(rma, "approve", by=by, reason="Return approved")
        if label is not None:
            rma.return_carrier = label.carrier
            rma.return_tracking_number = label.tracking_number
            rma.return_label_id = label.label_id
            rma.save(update_fields=["return_carrier", "return_tracking_number", "return_label_id"])
        publish(
            ReturnApproved(
                correlation_id=rma.order_number,
                **_who(rma),
                return_tracking_number=label.tracking_number if label else "",
            )
        )
    return rma


def return_create_label(*, rma_number: str) -> ReturnRequest:
    """Issue a missing return label for an approved return (after a carrier refusal or outage)."""
    rma = _get(rma_number)
    if rma.status != ReturnRequest.Status.APPROVED or rma.return_tracking_number:
        return rma
    try:
        label = _return_label(rma)
    except (CarrierUnavailable, LabelRefused):
        return rma
    ReturnRequest.objects.filter(pk=rma.pk, return_tracking_number="").update(
        return_carrier=label.carrier, return_tracking_number=label.tracking_number, return_label_id=label.label_id
    )
    return _get(rma_number)


def return_reject(*, rma_number: str, reason: str, by=None) -> ReturnRequest:
    reason = (reason or "").strip() or "Not eligible for return"
    with transaction.atomic():
        rma = _locked(rma_number)
        return_transition(rma, "reject", by=by, reason=reason, note=reason)
        publish(ReturnRejected(correlation_id=rma.order_number, **_who(rma), reason=reason))
    return rma


def _inspection(lines: list[ReturnLine], inspection: dict[str, dict] | None) -> None:
    """Apply staff's inspection to the lines: ``inspection`` maps a returned sku to ``{condition, refundable,
    not_refundable_reason}``; a sku not in it came back resellable and refundable."""
    inspection = inspection or {}
    unknown = sorted(set(inspection) - {line.sku for line in lines})
    if unknown:
        raise ReturnNotAllowed(
            f"{', '.join(unknown)} is not in this return.",
            code="return_inspection_invalid",
            errors={"inspection": [f"{sku}: not in this return" for sku in unknown]},
        )
    for line in lines:
        found = inspection.get(line.sku) or {}
        condition = found.get("condition") or ReturnLine.Condition.RESELLABLE
        refundable = bool(found.get("refundable", True))
        why_not = (found.get("not_refundable_reason") or "").strip()
        if condition not in ReturnLine.Condition.values:
            raise ReturnNotAllowed(
                f"{condition!r} is not a condition ({', '.join(ReturnLine.Condition.values)}).",
                code="return_inspection_invalid",
                errors={"inspection": [f"{line.sku}: unknown condition {condition!r}"]},
            )
        if not refundable and not why_not:
            raise ReturnNotAllowed(
                f"Say why {line.sku} is not refunded.",
                code="return_inspection_invalid",
                errors={"inspection": [f"{line.sku}: a reason is needed when it is not refunded"]},
            )
        line.condition = condition
        line.refundable = refundable and condition != ReturnLine.Condition.MISSING
        line.not_refundable_reason = why_not if not refundable else ""
        if condition == ReturnLine.Condition.MISSING and not why_not:
            line.not_refundable_reason = "Missing from the returned parcel"


def return_inspection_per_sku(
    *, rma: ReturnRequest, conditions: dict[str, dict] | None, lines: list[dict] | None
) -> dict[str, dict]:
    """Staff's inspection as ``return_receive`` takes it, from what they recorded per sku (``conditions``: the
    admin's ``{sku: {condition, not_refundable_reason}}``) and per return line (``lines``: the staff API's
    ``[{line_id, condition, not_refundable_reason?}]``, ids of other returns ignored; a line wins over its sku).
    A reason given means not refunded; an unlisted sku came back resellable and is refunded."""
    per_sku = dict(conditions or {})
    skus = {line.pk: line.sku for line in rma.lines.all()}
    for line in lines or []:
        if line["line_id"] in skus:
            per_sku[skus[line["line_id"]]] = {
                "condition": line["condition"],
                "not_refundable_reason": (line.get("not_refundable_reason") or "").strip(),
            }
    return {
        sku: {
            "condition": given["condition"],
            "refundable": not given["not_refundable_reason"],
            "not_refundable_reason": given["not_refundable_reason"],
        }
        for sku, given in per_sku.items()
    }


def _goods_refund(line: ReturnLine, decision: str) -> int:
    """A line's refund: what was paid for its units, whatever their condition, unless staff marked it not
    refundable (with a reason) or the units were missing from the parcel (docs/orders.md §Returns and exchanges). An
    exchange refunds what the customer paid beyond the replacement's price they were quoted (nothing when
    staff chose the replacement at inspection)."""
    if not line.refundable:
        return 0
    if decision == ReturnRequest.Decision.REFUND:
        return line.charged_minor
    if line.replacement_charged_minor is None:
        return 0
    return max(line.charged_minor - line.replacement_charged_minor, 0)


def _exchange_charge(line: ReturnLine) -> int:
    """What the customer owes for a dearer replacement they asked for: its price for them beyond what they paid
    for the returned units (charged by orders once the replacement is reserved)."""
    if not line.refundable or line.replacement_charged_minor is None:
        return 0
    return max(line.replacement_charged_minor - line.charged_minor, 0)


def _shipping_refund(rma: ReturnRequest, lines: list[ReturnLine], *, shop_at_fault: bool) -> int:
    """The shipping charge, refunded once per order, when the shop was at fault or when, with this return,
    every unit of the order has come back and been refunded (a unit missing from the parcel or not refunded by
    staff keeps the shipping charged; docs/orders.md §Returns and exchanges)."""
    if ReturnRequest.objects.filter(order_number=rma.order_number, shipping_refund_minor__gt=0).exists():
        return 0
    parcels = Shipment.objects.filter(order_number=rma.order_number, kind=Shipment.Kind.ORDER)
    charged = max((p.order_shipping_minor for p in parcels), default=0)
    if not charged:
        return 0
    if shop_at_fault:
        return charged
    sold = ShipmentLine.objects.filter(shipment__in=parcels).aggregate(total=Sum("quantity"))["total"] or 0
    back_before = (
        ReturnLine.objects.filter(
            return_request__order_number=rma.order_number,
            return_request__decision=ReturnRequest.Decision.REFUND,
            return_request__status__in=[ReturnRequest.Status.RECEIVED, ReturnRequest.Status.REFUNDED],
        )
        .exclude(return_request=rma)
        .filter(refundable=True)
        .aggregate(total=Sum("quantity"))["total"]
        or 0
    )
    back_now = sum(line.quantity for line in lines if line.refundable)
    return charged if back_before + back_now >= sold else 0


def return_receive(
    *,
    rma_number: str,
    decision: str,
    replacement_skus: dict[str, str] | None = None,
    inspection: dict[str, dict] | None = None,
    shop_at_fault: bool | None = None,
    note: str = "",
    by=None,
) -> ReturnRequest:
    """The parcel arrived and was inspected: decide ``"refund"`` or ``"exchange"`` (``ReturnReceived``).

    ``inspection`` maps a returned sku to ``{condition, refundable, not_refundable_reason}``: ``resellable``
    units go back on sale, ``damaged`` ones are written off, ``missing`` ones are neither refunded nor
    restocked. ``shop_at_fault`` (default: the customer's reason code says so) refunds the shipping too.
    ``replacement_skus`` maps a returned sku to the variant sent instead (exchange); a sku
    not in the map is replaced by the same sku.
    """
    if decision not in ReturnRequest.Decision.values:
        raise ReturnNotAllowed("The decision must be refund or exchange.", code="return_decision_invalid")
    replacement_skus = {k: v.strip() for k, v in (replacement_skus or {}).items() if v and v.strip()}
    with transaction.atomic():
        rma = _locked(rma_number)
        lines = list(rma.lines.all())
        _inspection(lines, inspection)
        at_fault = rma.reason_code in ReturnRequest.SHOP_AT_FAULT_REASONS if shop_at_fault is None else shop_at_fault
        for line in lines:
            if decision == ReturnRequest.Decision.EXCHANGE:
                chosen = replacement_skus.get(line.sku, line.replacement_sku or line.sku)
                if chosen != line.replacement_sku:
                    line.replacement_charged_minor = None  # staff's choice, not the one priced for the customer
                line.replacement_sku = chosen
            line.refund_minor = _goods_refund(line, decision)
            line.save(
                update_fields=[
                    "replacement_sku",
                    "replacement_charged_minor",
                    "condition",
                    "refundable",
                    "not_refundable_reason",
                    "refund_minor",
                ]
            )
        goods = sum(line.refund_minor for line in lines)
        charge = sum(_exchange_charge(line) for line in lines) if decision == ReturnRequest.Decision.EXCHANGE else 0
        shipping = (
            _shipping_refund(rma, lines, shop_at_fault=at_fault) if decision == ReturnRequest.Decision.REFUND else 0
        )
        return_transition(
            rma,
            "receive",
            by=by,
            reason=f"Inspected: {decision}" + (f" — {note}" if note else ""),
            decision=decision,
            shop_at_fault=at_fault,
            goods_refund_minor=goods,
            shipping_refund_minor=shipping,
            exchange_charge_minor=charge,
            note=note,
        )
        publish(
            ReturnReceived(
                correlation_id=rma.order_number,
                **_who(rma),
                decision=decision,
                lines=[_line_payload(line, decision) for line in lines],
                refund_minor=rma.refund_minor,
                goods_refund_minor=goods,
                shipping_refund_minor=shipping,
                exchange_charge_minor=charge,
                currency=rma.currency,
                replacement_skus=[
                    line.replacement_sku
                    for line in lines
                    if line.replacement_sku and decision == ReturnRequest.Decision.EXCHANGE
                ],
                warehouse_code=rma.warehouse_code,
            )
        )
    return rma


def _line_payload(line: ReturnLine, decision: str) -> dict:
    """A line as ``ReturnReceived`` carries it; a refund has no replacement, whatever the customer had asked."""
    return {
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
        "charged_minor": line.charged_minor,
        "refund_minor": line.refund_minor,
        "condition": line.condition,
        "refundable": line.refundable,
        "not_refundable_reason": line.not_refundable_reason,
        "replacement_sku": line.replacement_sku if decision == ReturnRequest.Decision.EXCHANGE else "",
    }


def return_await_stock(*, rma_number: str, detail: str = "") -> ReturnRequest:
    """Orders could not reserve an exchange's replacement: it waits for stock (visible as
    ``awaiting_stock``), retried by orders' sweeper until it ships or becomes a refund. Idempotent."""
    with transaction.atomic():
        rma = _locked(rma_number)
        if rma.status == ReturnRequest.Status.RECEIVED:
            return_transition(
                rma, "await_stock", actor="system", reason=f"Replacement out of stock{': ' + detail if detail else ''}"
            )
    return rma


def return_exchange_to_refund(*, rma_number: str, reason: str = "Replacement still out of stock") -> ReturnRequest:
    """An exchange waited too long for its replacement (or the price difference could not be charged): it
    becomes a refund of what was paid for the returned goods that are refundable; orders then refunds
    ``refund_minor``. Idempotent."""
    with transaction.atomic():
        rma = _locked(rma_number)
        waiting = (ReturnRequest.Status.AWAITING_STOCK, ReturnRequest.Status.RECEIVED)
        if rma.status not in waiting or rma.decision != ReturnRequest.Decision.EXCHANGE:
            return rma
        lines = list(rma.lines.all())
        for line in lines:
            line.refund_minor = _goods_refund(line, ReturnRequest.Decision.REFUND)
            line.save(update_fields=["refund_minor"])
        return_transition(
            rma,
            "exchange_to_refund",
            actor="system",
            reason=f"{reason}: refunded instead",
            goods_refund_minor=sum(line.refund_minor for line in lines),
        )
    return rma


def return_mark_refunded(*, rma_number: str, by=None) -> ReturnRequest:
    """Orders/payments report the refund was made. Idempotent."""
    with transaction.atomic():
        rma = _locked(rma_number)
        if rma.status != ReturnRequest.Status.REFUNDED:
            return_transition(rma, "mark_refunded", by=by, reason="Refund issued")
    return rma


def return_mark_exchanged(*, rma_number: str, by=None) -> ReturnRequest:
    """Orders report the replacement is on its way. Idempotent."""
    with transaction.atomic():
        rma = _locked(rma_number)
        if rma.status != ReturnRequest.Status.EXCHANGED:
            return_transition(rma, "mark_exchanged", by=by, reason="Replacement shipped")
    return rma
