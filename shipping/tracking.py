"""Carrier tracking updates: stored once, applied in sequence order, turned into shipment transitions.

Both the beat poll and the signed webhook end in ``tracking_updates_record``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowmart.errors import InvalidTransition, NotFound
from flowmart.events.publisher import publish
from flowmart.task_queue import queue_after_commit
from shipping.carriers import RETURN, TrackingUpdate
from shipping.events import DeliveryFailed, ShipmentDelivered, ShipmentDispatched, ShipmentInTransit
from shipping.models import DeliveryFailure, Shipment, TrackingEvent
from shipping.transitions import shipment_transition

S = Shipment.Status


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    title = "Shipment not found"


class UnknownTrackingNumber(NotFound):
    code = "unknown_tracking_number"
    title = "No shipment with that tracking number"


def tracking_url(tracking_number: str | None) -> str:
    return settings.SHIPPING_TRACKING_URL.format(number=tracking_number) if tracking_number else ""


def shipment_who(shipment: Shipment) -> dict:
    """Whose parcel it is, as every shipment event names them."""
    return {
        "order_number": shipment.order_number,
        "user_id": shipment.user_id,
        "customer_email": shipment.customer_email,
    }


def shipment_payload(shipment: Shipment, *, with_url: bool = True) -> dict:
    """The fields every shipment event of a labelled parcel shares (``with_url=False``: for the events that carry
    no tracking link)."""
    payload = {
        **shipment_who(shipment),
        "shipment_number": shipment.number,
        "tracking_number": shipment.tracking_number or "",
    }
    if with_url:
        payload["tracking_url"] = tracking_url(shipment.tracking_number)
    return payload


def shipment_lines_payload(shipment: Shipment) -> list[dict]:
    """The parcel's lines as shipment events carry them."""
    return [{"sku": line.sku, "name": line.name, "quantity": line.quantity} for line in shipment.lines.all()]


# --- transitions with their events (caller holds the lock and the transaction) ----------


def dispatch_record(shipment: Shipment, *, by=None, actor: str | None = None, reason: str) -> None:
    shipment_transition(shipment, "dispatch", by=by, actor=actor, reason=reason)
    publish(
        ShipmentDispatched(
            correlation_id=shipment.order_number,
            **shipment_payload(shipment),
            kind=shipment.kind,
            warehouse_code=shipment.warehouse_code,
            carrier=shipment.carrier,
            lines=shipment_lines_payload(shipment),
            dispatched_at=shipment.dispatched_at.isoformat(),
        )
    )


def _move(shipment: Shipment, *, location: str, reason: str) -> None:
    reattempt = shipment.status == S.DELIVERY_FAILED
    shipment_transition(shipment, "move", actor="carrier", reason=reason)
    publish(
        ShipmentInTransit(
            correlation_id=shipment.order_number,
            **shipment_payload(shipment),
            location=location,
            reattempt=reattempt,
        )
    )


def _deliver(shipment: Shipment, *, reason: str) -> None:
    shipment_transition(shipment, "deliver", actor="carrier", reason=reason)
    live = Shipment.objects.filter(order_number=shipment.order_number).exclude(
        status__in=[S.CANCELLED, S.RETURNED_TO_SENDER]
    )
    all_delivered = not live.exclude(status=S.DELIVERED).exclude(pk=shipment.pk).exists()
    publish(
        ShipmentDelivered(
            correlation_id=shipment.order_number,
            **shipment_payload(shipment, with_url=False),
            kind=shipment.kind,
            delivered_at=shipment.delivered_at.isoformat(),
            all_delivered=all_delivered,
        )
    )


def _fail(shipment: Shipment, *, reason: str, returned_to_sender: bool, log_reason: str = "") -> None:
    name = "return_to_sender" if returned_to_sender else "fail_delivery"
    shipment_transition(shipment, name, actor="carrier", reason=log_reason or reason)
    publish_delivery_failed(shipment, reason=reason, returned_to_sender=returned_to_sender)


def _fail_attempt(shipment: Shipment, event: TrackingEvent, *, log_reason: str) -> None:
    """A failed attempt: record it and tell orders (staff see it on the attention list). Then either the shop
    gives up (``SHIPPING_MAX_DELIVERY_ATTEMPTS`` reached: the carrier is asked after commit to return the parcel,
    and the parcel counts as returned only once the carrier accepts — ``redelivery.delivery_instruction_send``)
    or the new estimate and the customer's choices are asked for after commit. The poll does either if the task
    is lost."""
    shipment_transition(shipment, "fail_delivery", actor="carrier", reason=log_reason)
    attempt, limit = shipment.failed_attempts, settings.SHIPPING_MAX_DELIVERY_ATTEMPTS
    final = attempt >= limit
    DeliveryFailure.objects.get_or_create(
        shipment=shipment,
        attempt=attempt,
        defaults={
            "reason": event.description[:255],
            "failed_at": event.occurred_at,
            "instruction": RETURN if final else "",
            "instruction_at": timezone.now() if final else None,
        },
    )
    if final:
        queue_after_commit(
            "shipping.tasks.delivery_instruction_send_task",
            shipment_number=shipment.number,
            attempt=attempt,
            recovered_by="shipping.tasks.poll_tracking_task (sends instructions the carrier has not accepted)",
        )
    else:
        queue_after_commit(
            "shipping.tasks.delivery_options_fetch_task",
            shipment_number=shipment.number,
            attempt=attempt,
            recovered_by="shipping.tasks.poll_tracking_task (asks for estimates still missing)",
        )
    publish_delivery_failed(shipment, reason=event.description, returned_to_sender=False)


def shipment_returned_to_sender(shipment: Shipment, *, actor: str, reason: str, by=None) -> None:
    """The parcel is on its way back (the carrier said so, accepted the shop's instruction, or staff arranged it
    with the carrier): the transition and the event orders refunds on. The caller holds the shipment's lock."""
    shipment_transition(shipment, "return_to_sender", actor=actor, by=by, reason=reason)
    last = shipment.delivery_failures.filter(attempt=shipment.failed_attempts).first()
    publish_delivery_failed(shipment, reason=last.reason if last else reason, returned_to_sender=True)


def publish_delivery_failed(shipment: Shipment, *, reason: str, returned_to_sender: bool) -> None:
    publish(
        DeliveryFailed(
            correlation_id=shipment.order_number,
            **shipment_payload(shipment, with_url=False),
            attempt=shipment.failed_attempts,
            reason=reason,
            returned_to_sender=returned_to_sender,
        )
    )


def _ensure_dispatched(shipment: Shipment, reason: str) -> None:
    if shipment.status == S.LABEL_CREATED:
        dispatch_record(shipment, actor="carrier", reason=reason)


def _ensure_in_transit(shipment: Shipment, *, location: str, reason: str) -> None:
    _ensure_dispatched(shipment, reason)
    if shipment.status in (S.DISPATCHED, S.DELIVERY_FAILED):
        _move(shipment, location=location, reason=reason)


def _apply(shipment: Shipment, event: TrackingEvent) -> None:
    """Turn one carrier update into the transitions it implies (idempotent for states already reached)."""
    if shipment.status in (S.CANCELLED, S.PENDING, S.DELIVERED, S.RETURNED_TO_SENDER):
        return  # nothing to move: recorded for the history only
    reason = f"{event.description} ({event.location})" if event.location else event.description
    code = event.code
    if code == "picked_up":
        _ensure_dispatched(shipment, reason)
    elif code in ("in_transit", "out_for_delivery", "ready_for_pickup"):
        _ensure_in_transit(shipment, location=event.location, reason=reason)
    elif code == "delivery_failed":
        _ensure_in_transit(shipment, location=event.location, reason=reason)
        if shipment.status == S.IN_TRANSIT:
            _fail_attempt(shipment, event, log_reason=reason)
    elif code == "delivered":
        _ensure_in_transit(shipment, location=event.location, reason=reason)
        _deliver(shipment, reason=reason)
    elif code == "returned_to_sender":
        if shipment.status in (S.LABEL_CREATED, S.DISPATCHED):
            _ensure_in_transit(shipment, location=event.location, reason=reason)
        if shipment.status == S.IN_TRANSIT:
            shipment_transition(shipment, "fail_delivery", actor="carrier", reason=reason)
        _fail(shipment, reason=event.description, returned_to_sender=True, log_reason=reason)


def tracking_updates_record(*, tracking_number: str, updates: list[TrackingUpdate], source: str) -> int:
    """Store new carrier updates of one parcel and apply, in order, every one that follows the last applied.

    An update already stored (same carrier event id) is ignored; one that arrives ahead of a
    missing predecessor waits until the gap is filled (the next poll fetches the full history).
    Returns how many updates were applied now.
    """
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(tracking_number=tracking_number).first()
        if shipment is None:
            raise UnknownTrackingNumber(f"No shipment with tracking number {tracking_number}.")
        for update in sorted(updates, key=lambda u: u.sequence):
            if update.sequence <= shipment.last_sequence:
                continue
            try:
                with transaction.atomic():
                    TrackingEvent.objects.create(
                        shipment=shipment,
                        carrier_event_id=update.event_id,
                        sequence=update.sequence,
                        code=update.code,
                        description=update.description[:255],
                        location=update.location[:100],
                        occurred_at=update.occurred_at,
                        source=source,
                    )
            except IntegrityError:
                continue  # already stored: by event id or by sequence
        applied = 0
        pending = TrackingEvent.objects.filter(
            shipment=shipment, sequence__gt=shipment.last_sequence, applied_at__isnull=True
        ).order_by("sequence")
        for event in pending:
            if event.sequence != shipment.last_sequence + 1:
                break
            _apply(shipment, event)
            shipment.last_sequence = event.sequence
            event.applied_at = timezone.now()
            event.save(update_fields=["applied_at"])
            applied += 1
        shipment.last_polled_at = timezone.now() if source == TrackingEvent.Source.POLL else shipment.last_polled_at
        shipment.save(update_fields=["last_sequence", "last_polled_at", "updated_at"])
    return applied


def shipment_dispatch(*, shipment_number: str, by=None, reason: str = "Handed to the carrier") -> Shipment:
    """Staff hand a labelled parcel to the carrier."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(number=shipment_number).first()
        if shipment is None:
            raise ShipmentNotFound(f"No shipment {shipment_number}.")
        if shipment.held:
            raise InvalidTransition(
                f"Shipment {shipment_number} is held: its order is on hold or being cancelled; do not hand it over.",
                shipment_number=shipment.number,
                status=shipment.status,
            )
        dispatch_record(shipment, by=by, reason=reason)
    return shipment
