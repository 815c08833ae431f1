"""The beat poll: what a lost task or a carrier outage left undone, and tracking for carriers that do not push."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from shipping.carriers import CarrierUnavailable, get_carrier
from shipping.labels import shipment_create_label, shipment_void_label
from shipping.models import Shipment, TrackingEvent
from shipping.redelivery import delivery_failures_follow_up
from shipping.tracking import tracking_updates_record

log = structlog.get_logger(__name__)


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
