"""Celery tasks of the shipping app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from shipping import services


@shared_task(ignore_result=True)
def poll_tracking_task() -> dict:
    """Beat: create missing labels, void cancelled ones, and poll the carrier for active parcels."""
    return services.shipments_poll()


@shared_task(ignore_result=True)
def create_label_task(shipment_number: str) -> None:
    services.shipment_create_label(shipment_number=shipment_number)


@shared_task(ignore_result=True)
def void_label_task(shipment_number: str) -> None:
    services.shipment_void_label(shipment_number=shipment_number)


@shared_task(ignore_result=True)
def delivery_options_fetch_task(shipment_number: str, attempt: int) -> None:
    services.delivery_options_fetch(shipment_number=shipment_number, attempt=attempt)


@shared_task(ignore_result=True)
def delivery_instruction_send_task(shipment_number: str, attempt: int) -> None:
    services.delivery_instruction_send(shipment_number=shipment_number, attempt=attempt)
