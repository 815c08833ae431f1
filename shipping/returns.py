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


def return_request(*, order_number: str, user_id: str | None, lines: list[dict], reason: str, by=None) -> ReturnRequest:
    """The customer asks to return delivered items (``lines``: [{sku, quantity}]) with a reason.

    ``user_id`` ``None`` is a guest's order: the caller has checked the guest may open it (its session or
    signed link, ``flowmart.guest_orders``). Raises ``OrderNotFound`` (404) unless the order was shipped to
    this user (or, for ``None``, to a guest), and ``ReturnNotAllowed`` (400) for items not delivered,
    outside the window, or over-returned.
    """
    user_id = str(user_id) if user_id is not None else None
    reason = (reason or "").strip()
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
        )
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(
                    return_request=rma,
                    shipment_line=line,
                    sku=line.sku,
                    name=line.name,
                    quantity=quantity,
                    unit_price_minor=line.unit_price_minor,
                )
                for line, quantity in picks
            ]
        )
        transition_record(rma, from_state="", by=by, actor="customer", reason=reason)
        publish(
            ReturnInitiated(
                correlation_id=order_number,
                **_who(rma),
                reason=reason,
                lines=[
                    {"sku": rl.sku, "name": rl.name, "quantity": rl.quantity, "unit_price_minor": rl.unit_price_minor}
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


def return_receive(
    *,
    rma_number: str,
    decision: str,
    replacement_skus: dict[str, str] | None = None,
    note: str = "",
    by=None,
) -> ReturnRequest:
    """The parcel arrived and was inspected: decide ``"refund"`` or ``"exchange"`` (``ReturnReceived``).

    ``replacement_skus`` maps a returned sku to the variant sent instead (exchange); a sku
    not in the map is replaced by the same sku.
    """
    if decision not in ReturnRequest.Decision.values:
        raise ReturnNotAllowed("The decision must be refund or exchange.", code="return_decision_invalid")
    replacement_skus = {k: v.strip() for k, v in (replacement_skus or {}).items() if v and v.strip()}
    with transaction.atomic():
        rma = _locked(rma_number)
        lines = list(rma.lines.all())
        if decision == ReturnRequest.Decision.EXCHANGE:
            for line in lines:
                line.replacement_sku = replacement_skus.get(line.sku, line.sku)
                line.save(update_fields=["replacement_sku"])
            refund_minor = 0
        else:
            refund_minor = sum(line.unit_price_minor * line.quantity for line in lines)
        return_transition(
            rma,
            "receive",
            by=by,
            reason=f"Inspected: {decision}" + (f" — {note}" if note else ""),
            decision=decision,
            refund_minor=refund_minor,
            note=note,
        )
        publish(
            ReturnReceived(
                correlation_id=rma.order_number,
                **_who(rma),
                decision=decision,
                lines=[
                    {
                        "sku": line.sku,
                        "name": line.name,
                        "quantity": line.quantity,
                        "unit_price_minor": line.unit_price_minor,
                        "replacement_sku": line.replacement_sku,
                    }
                    for line in lines
                ],
                refund_minor=refund_minor,
                currency=rma.currency,
                replacement_skus=[line.replacement_sku for line in lines if line.replacement_sku],
                warehouse_code=rma.warehouse_code,
            )
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
