"""Labels: bought from the carrier of the parcel's method with no transaction open, recorded after; voided with
the carrier once a labelled parcel is cancelled."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowmart.events.publisher import publish
from flowmart.locks import ORDER_NAMESPACE, advisory_session_lock_try
from shipping import rates
from shipping.carriers import CarrierUnavailable, LabelRefused, Parcel, get_carrier
from shipping.events import ShipmentCreated, ShipmentRejected
from shipping.models import Shipment
from shipping.shipments import shipment_transition_cancel
from shipping.tracking import ShipmentNotFound, shipment_lines_payload, shipment_payload, shipment_who
from shipping.transitions import shipment_transition

log = structlog.get_logger(__name__)


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
                    **shipment_who(shipment),
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
                    lines=shipment_lines_payload(shipment),
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
