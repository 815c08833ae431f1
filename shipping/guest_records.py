"""Guests who make an account: their parcels and returns follow them."""

from __future__ import annotations

from django.db import transaction

from shipping.models import ReturnRequest, Shipment


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
