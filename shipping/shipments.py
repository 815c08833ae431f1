"""Shipments: one per warehouse of a confirmed order, one per exchange; cancelled or amended before they leave.

Labels follow asynchronously (``shipping.labels``); the carrier is never called inside these transactions.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

import structlog
from django.conf import settings
from django.db import transaction

from flowmart.errors import FlowMartError, NotFound
from flowmart.events.publisher import publish
from flowmart.money import Money
from flowmart.task_queue import queue_after_commit
from shipping import rates
from shipping.carriers import CarrierUnavailable, LabelRefused, get_carrier
from shipping.events import ShipmentCancelled, ShipmentRejected
from shipping.models import ReturnRequest, Shipment, ShipmentLine
from shipping.tracking import ShipmentNotFound, shipment_who
from shipping.transitions import shipment_transition

log = structlog.get_logger(__name__)

DEFAULT_WAREHOUSE = "main"


class ExchangeNotAllowed(FlowMartError):
    code = "exchange_not_allowed"
    status = 409
    title = "A replacement cannot be shipped for this return"


# --- Creating shipments ------------------------------------------------------------------


def _charged_by_allocation(line: dict, quantities: list[int]) -> list[int | None]:
    """The line's ``charged_minor`` (what orders charged for its goods after every discount) split over its
    warehouse allocations by quantity with ``Money.allocate`` (integer minor units, remainder to the first
    parcels). An event from before the field: its ``line_total_minor`` (after the line's own discount), else
    None (not known)."""
    known = line.get("charged_minor", line.get("line_total_minor"))
    if known is None or sum(quantities) <= 0:
        return [None] * len(quantities)
    charged = Money(int(known), "XXX")  # ISO 4217's "no currency": a split needs none
    return [share.amount_minor for share in charged.allocate(quantities)]


def _lines_by_warehouse(lines: list[dict]) -> OrderedDict[str, list[dict]]:
    """Split order lines by the warehouses their stock was reserved in."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for line in lines:
        allocations = [
            allocation
            for allocation in line.get("allocations")
            or [{"warehouse_code": DEFAULT_WAREHOUSE, "quantity": int(line.get("quantity", 0))}]
            if int(allocation.get("quantity", 0)) > 0
        ]
        charged = _charged_by_allocation(line, [int(a["quantity"]) for a in allocations])
        for allocation, charged_minor in zip(allocations, charged, strict=True):
            groups.setdefault(allocation.get("warehouse_code") or DEFAULT_WAREHOUSE, []).append(
                {
                    "sku": line["sku"],
                    "name": line.get("name", ""),
                    "quantity": int(allocation["quantity"]),
                    "unit_price_minor": int(line.get("unit_price_minor") or 0),
                    "charged_minor": charged_minor,
                    "weight_grams": int(line.get("weight_grams") or 0),
                }
            )
    return groups


def _set_lines(shipment: Shipment, lines: list[dict]) -> None:
    shipment.lines.all().delete()
    ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(
                shipment=shipment,
                sku=line["sku"],
                name=line.get("name", ""),
                quantity=int(line["quantity"]),
                unit_price_minor=int(line.get("unit_price_minor") or 0),
                charged_minor=line.get("charged_minor"),
                weight_grams=int(line.get("weight_grams") or 0),
            )
            for line in lines
        ]
    )


def shipment_label_queue(shipment: Shipment) -> None:
    """Buy the parcel's label after commit (``shipping.labels.shipment_create_label``, by the task)."""
    queue_after_commit(
        "shipping.tasks.create_label_task",
        shipment_number=shipment.number,
        # After the grace period in which the customer may still amend or cancel the order.
        countdown=settings.SHIPPING_LABEL_DELAY_SECONDS,
        recovered_by="shipping.tasks.poll_tracking_task (creates missing labels)",
    )


def _queue_void(shipment: Shipment) -> None:
    queue_after_commit(
        "shipping.tasks.void_label_task",
        shipment_number=shipment.number,
        recovered_by="shipping.tasks.poll_tracking_task (voids cancelled labels)",
    )


def shipments_create_for_order(
    *,
    order_number: str,
    user_id: str | None,
    customer_email: str,
    customer_name: str,
    currency: str,
    method_code: str,
    address: dict,
    lines: list[dict],
    shipping_minor: int = 0,
    causation_id: uuid.UUID | None = None,
) -> list[Shipment]:
    """One pending shipment per warehouse of the lines' allocations; labels follow asynchronously.

    Idempotent per order. An unsupported destination publishes ``ShipmentRejected`` instead.
    Runs inside the caller's transaction when there is one (the event handler's).
    """
    with transaction.atomic():
        existing = list(
            Shipment.objects.filter(order_number=order_number, kind=Shipment.Kind.ORDER).order_by(
                "-created_at", "number"
            )
        )
        if existing:
            return existing
        country = str((address or {}).get("country") or "").upper()
        if not rates.country_is_served(country):
            publish(
                ShipmentRejected(
                    correlation_id=order_number,
                    causation_id=causation_id,
                    order_number=order_number,
                    user_id=user_id,
                    customer_email=customer_email,
                    shipment_number="",
                    code="unsupported_destination",
                    reason=f"We do not ship to {country or 'an unknown country'}.",
                )
            )
            return []
        shipments = []
        for warehouse_code, group in _lines_by_warehouse(lines).items():
            shipment = Shipment.objects.create(
                order_number=order_number,
                user_id=user_id,
                customer_email=customer_email,
                customer_name=customer_name,
                currency=currency,
                order_shipping_minor=shipping_minor,
                warehouse_code=warehouse_code,
                method_code=method_code or "standard",
                address=address,
            )
            _set_lines(shipment, group)
            shipment_label_queue(shipment)
            shipments.append(shipment)
    return shipments


def shipment_create_for_exchange(
    *,
    order_number: str,
    rma_number: str,
    lines: list[dict],
    warehouse_code: str,
    address: dict | None = None,
    method_code: str = "standard",
) -> Shipment:
    """Ship the replacement of an exchange as a new shipment (label follows asynchronously).

    ``lines``: [{sku, name?, quantity, weight_grams?}]. ``address`` defaults to where the
    original order went. Idempotent per RMA.
    """
    with transaction.atomic():
        rma = ReturnRequest.objects.filter(rma_number=rma_number, order_number=order_number).first()
        if rma is None:
            raise NotFound(f"No return {rma_number} for order {order_number}.")
        if rma.decision != ReturnRequest.Decision.EXCHANGE:
            raise ExchangeNotAllowed(f"Return {rma_number} was not decided as an exchange.")
        existing = Shipment.objects.filter(kind=Shipment.Kind.EXCHANGE, rma_number=rma_number).first()
        if existing:
            return existing
        original = (
            Shipment.objects.filter(order_number=order_number, kind=Shipment.Kind.ORDER)
            .order_by("-created_at", "number")  # the latest parcel's address
            .first()
        )
        if address is None:
            if original is None:
                raise ExchangeNotAllowed(f"No address known for order {order_number}.")
            address = original.address
        shipment = Shipment.objects.create(
            order_number=order_number,
            kind=Shipment.Kind.EXCHANGE,
            rma_number=rma_number,
            user_id=rma.user_id,
            customer_email=rma.customer_email,
            customer_name=original.customer_name if original else "",
            currency=rma.currency,
            warehouse_code=warehouse_code,
            method_code=method_code,
            address=address,
        )
        _set_lines(shipment, [{**line, "unit_price_minor": 0} for line in lines])
        shipment_label_queue(shipment)
    return shipment


# --- Cancelling and amending ------------------------------------------------------------------


def shipment_transition_cancel(
    shipment: Shipment, *, by=None, actor: str | None = None, reason: str, causation_id=None
) -> None:
    """Cancel a locked, not-yet-dispatched shipment; its label (if any) is voided after commit."""
    shipment_transition(shipment, "cancel", by=by, actor=actor, reason=reason)
    publish(
        ShipmentCancelled(
            correlation_id=shipment.order_number,
            causation_id=causation_id,
            **shipment_who(shipment),
            shipment_number=shipment.number,
            reason=reason,
        )
    )
    if shipment.tracking_number:
        _queue_void(shipment)


def shipment_cancel(*, shipment_number: str, by=None, reason: str) -> Shipment:
    """Staff cancel one shipment before dispatch."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(number=shipment_number).first()
        if shipment is None:
            raise ShipmentNotFound(f"No shipment {shipment_number}.")
        shipment_transition_cancel(shipment, by=by, reason=reason)
    return shipment


def shipments_cancel_for_order(*, order_number: str, reason: str, causation_id: uuid.UUID | None = None) -> int:
    """Cancel every not-yet-dispatched shipment of the order; returns how many were cancelled."""
    cancelled = 0
    with transaction.atomic():
        shipments = (
            Shipment.objects.select_for_update()
            .filter(order_number=order_number, status__in=Shipment.NOT_DISPATCHED)
            .order_by("-created_at", "number")
        )
        for shipment in shipments:
            shipment_transition_cancel(
                shipment, actor="system", reason=f"Order cancelled: {reason}", causation_id=causation_id
            )
            cancelled += 1
    return cancelled


def shipments_amend_for_order(
    *, order_number: str, address: dict, lines: list[dict], causation_id: uuid.UUID | None = None
) -> list[Shipment]:
    """Apply an amended order (new full set of lines, maybe a new address) to its undispatched shipments.

    Dispatched shipments are left alone. A labelled shipment whose address changed is relabelled.
    """
    with transaction.atomic():
        shipments = list(
            Shipment.objects.select_for_update()
            .filter(order_number=order_number, kind=Shipment.Kind.ORDER)
            .order_by("created_at", "id")
        )
        if not shipments:
            return []
        template = shipments[0]
        open_by_warehouse = {s.warehouse_code: s for s in shipments if s.status in Shipment.NOT_DISPATCHED}
        touched = []
        groups = _lines_by_warehouse(lines)
        # Lines already on their way stay with their shipment; amend what has not left.
        shipped = {s.warehouse_code for s in shipments if s.status not in Shipment.NOT_DISPATCHED}
        for warehouse_code, group in groups.items():
            if warehouse_code in shipped and warehouse_code not in open_by_warehouse:
                continue
            shipment = open_by_warehouse.get(warehouse_code)
            if shipment is None:
                shipment = Shipment.objects.create(
                    order_number=order_number,
                    user_id=template.user_id,
                    customer_email=template.customer_email,
                    customer_name=template.customer_name,
                    currency=template.currency,
                    warehouse_code=warehouse_code,
                    method_code=template.method_code,
                    address=address or template.address,
                )
                shipment_label_queue(shipment)
            else:
                if address and address != shipment.address:
                    if shipment.status == Shipment.Status.LABEL_CREATED:
                        Shipment.objects.filter(pk=shipment.pk).update(label_cancelled_at=None)
                        _void_now = (shipment.carrier, shipment.tracking_number, shipment.label_id)
                        shipment_transition(shipment, "relabel", actor="system", reason="Address amended")
                        transaction.on_commit(lambda v=_void_now: _void_label_quietly(*v), robust=True)
                        shipment_label_queue(shipment)
                    shipment.address = address
                    shipment.save(update_fields=["address", "updated_at"])
            _set_lines(shipment, group)
            touched.append(shipment)
        for warehouse_code, shipment in open_by_warehouse.items():
            if warehouse_code not in groups:
                shipment_transition_cancel(
                    shipment, actor="system", reason="Order amended: no lines left", causation_id=causation_id
                )
    return touched


def _void_label_quietly(carrier_code: str, tracking_number: str, label_id: str) -> None:
    try:
        get_carrier(carrier_code or None).cancel(tracking_number=tracking_number, label_id=label_id)
    except (CarrierUnavailable, LabelRefused):
        log.warning("could not void a replaced label", tracking_number=tracking_number)
