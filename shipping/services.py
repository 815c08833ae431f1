"""Commands of the shipping app: everything that changes its state.

Other apps call only what this module (and ``selectors``) exposes:

* quotes — ``shipping_quote``, ``shipping_quote_for_method`` (+ ``ShippingPerk``, ``ShippingQuote``)
* shipments — created from ``OrderConfirmed`` by the handlers; ``shipment_create_for_exchange``
* returns — ``return_request``, ``return_approve``, ``return_reject``, ``return_receive``,
  ``return_mark_refunded``, ``return_mark_exchanged``
* failed deliveries — ``shipment_delivery_choose`` (the customer's re-delivery or pick-up),
  ``delivery_options_fetch`` and ``delivery_instruction_send`` (tasks and the poll)

Carrier calls happen outside database transactions: the services open short
transactions before and after them.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flowmart.errors import FlowMartError, NotFound
from flowmart.events.publisher import publish
from flowmart.locks import ORDER_NAMESPACE, advisory_session_lock_try
from flowmart.money import Money
from flowmart.task_queue import queue_after_commit
from shipping import rates
from shipping.carriers import CarrierUnavailable, LabelRefused, Parcel, ParcelAlreadyPickedUp, get_carrier
from shipping.events import (
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentRejected,
)
from shipping.models import ReturnRequest, Shipment, ShipmentLine, TrackingEvent
from shipping.rates import ShippingMethodUnavailable, ShippingPerk, ShippingQuote
from shipping.redelivery import (
    DeliveryChoiceNotAvailable,
    ReturnNotAwaited,
    delivery_failures_follow_up,
    delivery_instruction_send,
    delivery_options_fetch,
    shipment_delivery_choose,
    shipment_return_arranged,
)
from shipping.returns import (
    ReturnNotAllowed,
    return_approve,
    return_await_stock,
    return_create_label,
    return_exchange_to_refund,
    return_mark_exchanged,
    return_mark_refunded,
    return_receive,
    return_reject,
    return_request,
)
from shipping.tracking import (
    ShipmentNotFound,
    dispatch_record,
    shipment_dispatch,
    shipment_payload,
    tracking_updates_record,
)
from shipping.transitions import shipment_transition
from shipping.webhooks import WebhookSignatureInvalid, carrier_webhook_receive

log = structlog.get_logger(__name__)

__all__ = [
    "CarrierUnavailable",  # shipments_stop_for_order's "try again"
    "guest_records_attach",
    "DeliveryChoiceNotAvailable",
    "ReturnNotAllowed",
    "ReturnNotAwaited",
    "ShipmentNotFound",
    "ShippingMethodUnavailable",
    "ShippingPerk",
    "ShippingQuote",
    "WebhookSignatureInvalid",
    "carrier_webhook_receive",
    "delivery_instruction_send",
    "delivery_options_fetch",
    "return_approve",
    "return_await_stock",
    "return_exchange_to_refund",
    "return_create_label",
    "return_mark_exchanged",
    "return_mark_refunded",
    "return_receive",
    "return_reject",
    "return_request",
    "shipment_cancel",
    "shipment_create_for_exchange",
    "shipment_create_label",
    "shipment_delivery_choose",
    "shipment_dispatch",
    "shipment_return_arranged",
    "shipment_void_label",
    "shipments_amend_for_order",
    "shipments_cancel_for_order",
    "shipments_create_for_order",
    "shipments_poll",
    "shipments_release_for_order",
    "shipments_stop_for_order",
    "ShipmentsStop",
    "shipping_quote",
    "shipping_quote_for_method",
    "tracking_updates_record",
]

DEFAULT_WAREHOUSE = "main"


class ExchangeNotAllowed(FlowMartError):
    code = "exchange_not_allowed"
    status = 409
    title = "A replacement cannot be shipped for this return"


# --- Quotes ---------------------------------------------------------------------------


def shipping_quote(
    *,
    destination: dict,
    lines: list[dict],
    subtotal_minor: int,
    currency: str,
    perk: ShippingPerk | None = None,
) -> list[ShippingQuote]:
    """Available methods to ``destination`` with price and delivery estimate; [] if not served."""
    return rates.quote(
        destination=destination, lines=lines, subtotal_minor=subtotal_minor, currency=currency, perk=perk
    )


def shipping_quote_for_method(
    *,
    method_code: str,
    destination: dict,
    lines: list[dict],
    subtotal_minor: int,
    currency: str,
    perk: ShippingPerk | None = None,
) -> ShippingQuote:
    """The quote of one method; raises ``ShippingMethodUnavailable`` (400) if it does not apply."""
    return rates.quote_for_method(
        method_code=method_code,
        destination=destination,
        lines=lines,
        subtotal_minor=subtotal_minor,
        currency=currency,
        perk=perk,
    )


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


def _queue_label(shipment: Shipment) -> None:
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
            _queue_label(shipment)
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
        _queue_label(shipment)
    return shipment


# --- Labels --------------------------------------------------------------------------------


def _carrier_and_service(shipment: Shipment) -> tuple[str, str]:
    """Who labels the shipment: its method's carrier and service, else the shop default carrier."""
    method = rates.method_for(method_code=shipment.method_code, country=shipment.country)
    if method is None or not method.carrier:
        return settings.SHIPPING_CARRIER, method.carrier_service if method else ""
    return method.carrier, method.carrier_service


def _parcel(shipment: Shipment, *, service: str) -> Parcel:
    weight = sum(line.quantity * line.weight_grams for line in shipment.lines.all())
    # The reference is the carrier's idempotency key: a relabel (new address) is a new purchase.
    relabels = shipment.transitions.filter(transition="relabel").count()
    return Parcel(
        reference=shipment.number if not relabels else f"{shipment.number}-R{relabels}",
        address=shipment.address,
        weight_grams=weight,
        method_code=shipment.method_code,
        service=service,
        warehouse_code=shipment.warehouse_code,
    )


def shipment_create_label(*, shipment_number: str) -> Shipment:
    """Ask the carrier for a label (no transaction open meanwhile); then record it or the refusal.

    Label created → ``ShipmentCreated``. Refused → the shipment is cancelled and
    ``ShipmentRejected`` published (the saga compensates). Carrier down → stays pending
    (the beat poll retries).
    """
    shipment = Shipment.objects.filter(number=shipment_number).prefetch_related("lines").first()
    if shipment is None:
        raise ShipmentNotFound(f"No shipment {shipment_number}.")
    if shipment.status != Shipment.Status.PENDING or shipment.held:
        return shipment  # a held parcel gets no label until its order is released
    # Not while the order is being amended, held or cancelled: the label would print what is being changed.
    with advisory_session_lock_try(ORDER_NAMESPACE, shipment.order_number) as taken:
        if not taken:
            log.info("order busy; label left for the next poll", shipment=shipment_number)
            return shipment
        return _label_buy(shipment)


def _label_buy(shipment: Shipment) -> Shipment:
    shipment_number = shipment.number
    carrier_code, service = _carrier_and_service(shipment)
    carrier = get_carrier(carrier_code)
    try:
        label = carrier.create_label(parcel=_parcel(shipment, service=service))
    except CarrierUnavailable as exc:
        Shipment.objects.filter(pk=shipment.pk).update(label_error=str(exc)[:500])
        log.warning("carrier unavailable for label", shipment=shipment_number, error=str(exc))
        return shipment
    except LabelRefused as exc:
        with transaction.atomic():
            shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
            if shipment.status != Shipment.Status.PENDING:
                return shipment
            shipment.label_error = str(exc)[:500]
            shipment_transition_cancel(shipment, actor="carrier", reason=f"Label refused: {exc.detail}")
            publish(
                ShipmentRejected(
                    correlation_id=shipment.order_number,
                    **_who(shipment),
                    shipment_number=shipment.number,
                    code="label_refused",
                    reason=exc.detail,
                )
            )
        return shipment

    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.status != Shipment.Status.PENDING:
            # Cancelled, or labelled by a concurrent call; a carrier that is idempotent per reference
            # handed that call the very label we got, which must not be voided.
            stale = shipment.tracking_number != label.tracking_number
        elif shipment.held:  # the order was put on hold (or is being cancelled) while we talked to the carrier
            stale = True
        else:
            stale = False
            shipment_transition(
                shipment,
                "create_label",
                actor="carrier",
                reason=f"Label {label.tracking_number}",
                carrier=label.carrier,
                tracking_number=label.tracking_number,
                label_id=label.label_id,
                label_url=label.label_url,
            )
            publish(
                ShipmentCreated(
                    correlation_id=shipment.order_number,
                    **shipment_payload(shipment),
                    kind=shipment.kind,
                    rma_number=shipment.rma_number or None,
                    warehouse_code=shipment.warehouse_code,
                    method_code=shipment.method_code,
                    carrier=shipment.carrier,
                    lines=_lines_payload(shipment),
                )
            )
    if stale:  # cancelled (or labelled by someone else) while we talked to the carrier
        try:
            carrier.cancel(tracking_number=label.tracking_number, label_id=label.label_id)
        except (CarrierUnavailable, LabelRefused):
            log.warning("could not void a stale label", tracking_number=label.tracking_number)
    return shipment


def shipment_void_label(*, shipment_number: str) -> bool:
    """Cancel a cancelled shipment's label with the carrier (retried by the poll until done)."""
    shipment = Shipment.objects.filter(number=shipment_number).first()
    if shipment is None or shipment.status != Shipment.Status.CANCELLED or not shipment.tracking_number:
        return False
    if shipment.label_cancelled_at is not None:
        return True
    try:
        get_carrier(shipment.carrier or None).cancel(
            tracking_number=shipment.tracking_number, label_id=shipment.label_id
        )
    except CarrierUnavailable:
        return False
    except LabelRefused:
        log.warning("carrier does not know the label; treating it as void", shipment=shipment_number)
    Shipment.objects.filter(pk=shipment.pk, label_cancelled_at__isnull=True).update(label_cancelled_at=timezone.now())
    return True


# --- Cancelling and amending ------------------------------------------------------------------


def _who(shipment: Shipment) -> dict:
    return {
        "order_number": shipment.order_number,
        "user_id": shipment.user_id,
        "customer_email": shipment.customer_email,
    }


def _lines_payload(shipment: Shipment) -> list[dict]:
    return [{"sku": line.sku, "name": line.name, "quantity": line.quantity} for line in shipment.lines.all()]


def shipment_transition_cancel(
    shipment: Shipment, *, by=None, actor: str | None = None, reason: str, causation_id=None
) -> None:
    """Cancel a locked, not-yet-dispatched shipment; its label (if any) is voided after commit."""
    shipment_transition(shipment, "cancel", by=by, actor=actor, reason=reason)
    publish(
        ShipmentCancelled(
            correlation_id=shipment.order_number,
            causation_id=causation_id,
            **_who(shipment),
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
                _queue_label(shipment)
            else:
                if address and address != shipment.address:
                    if shipment.status == Shipment.Status.LABEL_CREATED:
                        Shipment.objects.filter(pk=shipment.pk).update(label_cancelled_at=None)
                        _void_now = (shipment.carrier, shipment.tracking_number, shipment.label_id)
                        shipment_transition(shipment, "relabel", actor="system", reason="Address amended")
                        transaction.on_commit(lambda v=_void_now: _void_label_quietly(*v), robust=True)
                        _queue_label(shipment)
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


# --- Holding and cancelling an order: stop its parcels first -----------------------------------


@dataclass(frozen=True)
class ShipmentsStop:
    """What ``shipments_stop_for_order`` achieved: the order's parcels that no longer go (``stopped``), or the
    ones that had already left (``dispatched``: the order must follow them; nothing was stopped then)."""

    stopped: list[str]
    dispatched: list[str]

    @property
    def parcel_left(self) -> bool:
        return bool(self.dispatched)


def shipments_stop_for_order(*, order_number: str, reason: str, cancel: bool) -> ShipmentsStop:
    """Stop the order's parcels before orders holds (``cancel=False``) or cancels it: every label is voided
    with the carrier first, so nothing leaves the warehouse for an order that is not going ahead.

    Three phases (no transaction across the carrier call): mark the undispatched parcels ``held`` (no label
    is bought for them from now on, staff cannot hand them over); void their labels; then a voided parcel is
    cancelled (``cancel``) or goes back to ``pending`` without a label (hold: relabelled on release). If the
    carrier had already scanned a parcel (it refuses the void: ``ParcelAlreadyPickedUp``), or one had left
    before, that parcel is recorded ``dispatched`` (``ShipmentDispatched``), the order's other parcels go on
    as before, and the answer lists it in ``dispatched``: the order follows the parcel. A carrier that does
    not answer: the parcels are let go again and ``CarrierUnavailable`` (503) is raised; try again.
    """
    with transaction.atomic():
        shipments = list(
            Shipment.objects.select_for_update()
            .filter(order_number=order_number, kind=Shipment.Kind.ORDER)
            .order_by("created_at", "id")
        )
        left = [s.number for s in shipments if s.status not in (*Shipment.NOT_DISPATCHED, Shipment.Status.CANCELLED)]
        if left:
            return ShipmentsStop(stopped=[], dispatched=left)
        stoppable = [s for s in shipments if s.status in Shipment.NOT_DISPATCHED]
        Shipment.objects.filter(pk__in=[s.pk for s in stoppable]).update(held=True, updated_at=timezone.now())
        labelled = [s for s in stoppable if s.status == Shipment.Status.LABEL_CREATED]
    voided, picked_up = [], []
    try:
        for shipment in labelled:
            try:
                get_carrier(shipment.carrier or None).cancel(
                    tracking_number=shipment.tracking_number, label_id=shipment.label_id
                )
            except ParcelAlreadyPickedUp:
                picked_up.append(shipment.number)
                continue
            except LabelRefused:
                log.warning("carrier does not know the label; treating it as void", shipment=shipment.number)
            voided.append(shipment.number)
    except CarrierUnavailable:
        # The order goes on as it was: parcels whose label was voided get a new one, the rest keep theirs.
        with transaction.atomic():
            _stopped_apply(order_number, voided, reason=reason, cancel=False)
            for shipment in Shipment.objects.select_for_update().filter(order_number=order_number, held=True):
                _release(shipment)
        raise
    with transaction.atomic():
        dispatched = _picked_up_apply(order_number, picked_up)
        if dispatched:
            _stopped_apply(order_number, voided, reason=reason, cancel=False)
            for shipment in Shipment.objects.select_for_update().filter(order_number=order_number, held=True):
                _release(shipment)
            return ShipmentsStop(stopped=[], dispatched=dispatched)
        stopped = _stopped_apply(order_number, voided, reason=reason, cancel=cancel)
        if cancel:  # parcels that had no label yet
            for shipment in Shipment.objects.select_for_update().filter(
                order_number=order_number, status=Shipment.Status.PENDING, held=True
            ):
                shipment_transition_cancel(shipment, actor="system", reason=f"Order cancelled: {reason}")
                stopped.append(shipment.number)
        else:
            stopped += list(
                Shipment.objects.filter(order_number=order_number, status=Shipment.Status.PENDING, held=True)
                .exclude(number__in=stopped)
                .values_list("number", flat=True)
            )
    return ShipmentsStop(stopped=stopped, dispatched=[])


def _picked_up_apply(order_number: str, numbers: list[str]) -> list[str]:
    """The carrier refused to void these labels because it has the parcels: they left (caller's transaction)."""
    left = []
    for shipment in Shipment.objects.select_for_update().filter(order_number=order_number, number__in=numbers):
        shipment.held = False
        if shipment.status == Shipment.Status.LABEL_CREATED:  # its scan may have been recorded meanwhile
            dispatch_record(
                shipment, actor="carrier", reason="Picked up by the carrier before the label could be voided"
            )
        shipment.save(update_fields=["held", "updated_at"])
        left.append(shipment.number)
    return left


def _stopped_apply(order_number: str, numbers: list[str], *, reason: str, cancel: bool) -> list[str]:
    """Labels the carrier voided: the parcel is cancelled, or waits without a label (caller's transaction)."""
    stopped = []
    for shipment in Shipment.objects.select_for_update().filter(order_number=order_number, number__in=numbers):
        if shipment.status != Shipment.Status.LABEL_CREATED:
            continue
        if cancel:
            shipment.label_cancelled_at = timezone.now()
            shipment.save(update_fields=["label_cancelled_at", "updated_at"])
            shipment_transition_cancel(shipment, actor="system", reason=f"Order cancelled: {reason}")
        else:
            shipment_transition(shipment, "relabel", actor="system", reason=f"Label voided: order on hold: {reason}")
        stopped.append(shipment.number)
    return stopped


def _release(shipment: Shipment) -> None:
    shipment.held = False
    shipment.save(update_fields=["held", "updated_at"])
    if shipment.status == Shipment.Status.PENDING:
        _queue_label(shipment)


def shipments_release_for_order(*, order_number: str) -> int:
    """The order's hold was released: its held parcels get labels again (queued after commit). Database only,
    so orders calls it inside the transaction that releases the order; returns how many parcels were held."""
    with transaction.atomic():
        shipments = list(Shipment.objects.select_for_update().filter(order_number=order_number, held=True))
        for shipment in shipments:
            _release(shipment)
    return len(shipments)


# --- Polling the carrier ---------------------------------------------------------------------


def shipments_poll(*, batch_size: int | None = None) -> dict:
    """One round of the beat task: create missing labels, void cancelled labels, track active parcels, then
    follow up failed deliveries (estimates still missing, instructions the carrier has not accepted).

    Each group is worked in batches of ``batch_size`` (``SHIPPING_POLL_BATCH_SIZE``); active
    shipments are polled least recently polled first, so every parcel gets its turn.
    """
    batch_size = batch_size or settings.SHIPPING_POLL_BATCH_SIZE
    counts = {"labels": 0, "voided": 0, "polled": 0, "applied": 0, "estimates": 0, "instructions": 0}
    grace_over = timezone.now() - timedelta(seconds=settings.SHIPPING_LABEL_DELAY_SECONDS)
    pending = Shipment.objects.filter(status=Shipment.Status.PENDING, held=False, created_at__lte=grace_over).order_by(
        "created_at", "id"
    )
    for number in pending.values_list("number", flat=True)[:batch_size]:
        if shipment_create_label(shipment_number=number).status != Shipment.Status.PENDING:
            counts["labels"] += 1
    to_void = Shipment.objects.filter(
        status=Shipment.Status.CANCELLED, tracking_number__isnull=False, label_cancelled_at__isnull=True
    ).order_by("-created_at", "number")
    for number in to_void.values_list("number", flat=True)[:batch_size]:
        counts["voided"] += int(shipment_void_label(shipment_number=number))

    active = Shipment.objects.filter(status__in=Shipment.ACTIVE, tracking_number__isnull=False).order_by(
        F("last_polled_at").asc(nulls_first=True), "id"
    )
    for shipment in list(active[:batch_size]):
        carrier = get_carrier(shipment.carrier or None)
        try:
            updates = carrier.track(tracking_number=shipment.tracking_number)
        except CarrierUnavailable:
            log.warning("carrier unavailable for tracking", shipment=shipment.number)
            continue
        counts["polled"] += 1
        counts["applied"] += tracking_updates_record(
            tracking_number=shipment.tracking_number, updates=updates, source=TrackingEvent.Source.POLL
        )
    counts.update(delivery_failures_follow_up(batch_size=batch_size))
    return counts


# -- guests who make an account ------------------------------------------------------------
def guest_records_attach(*, order_numbers: list[str], user_id: str) -> int:
    """A guest's parcels and returns of these orders now belong to the account that proved their email
    (orders decides which orders); records that already belong to an account are left alone."""
    with transaction.atomic():
        moved = Shipment.objects.filter(order_number__in=order_numbers, user_id__isnull=True).update(
            user_id=str(user_id)
        )
        moved += ReturnRequest.objects.filter(order_number__in=order_numbers, user_id__isnull=True).update(
            user_id=str(user_id)
        )
    return moved
