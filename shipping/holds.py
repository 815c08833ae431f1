"""Holding and cancelling an order: its parcels stop first (docs/shipping.md §Lifecycles, *Held parcels*).

Orders calls ``shipments_stop_for_order`` before it holds or cancels an order and
``shipments_release_for_order`` when the hold is released.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from django.db import transaction
from django.utils import timezone

from shipping.carriers import CarrierUnavailable, LabelRefused, ParcelAlreadyPickedUp, get_carrier
from shipping.models import Shipment
from shipping.shipments import shipment_label_queue, shipment_transition_cancel
from shipping.tracking import dispatch_record
from shipping.transitions import shipment_transition

log = structlog.get_logger(__name__)


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
        shipment_label_queue(shipment)


def shipments_release_for_order(*, order_number: str) -> int:
    """The order's hold was released: its held parcels get labels again (queued after commit). Database only,
    so orders calls it inside the transaction that releases the order; returns how many parcels were held."""
    with transaction.atomic():
        shipments = list(Shipment.objects.select_for_update().filter(order_number=order_number, held=True))
        for shipment in shipments:
            _release(shipment)
    return len(shipments)
