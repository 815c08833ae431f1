"""Celery tasks of the inventory app: thin, each calls one service."""

from celery import shared_task

from inventory import services


@shared_task
def reservations_expire_task() -> int:
    """Beat: release reservations whose checkout never finished."""
    return services.stock_reservations_expire()


@shared_task
def early_access_announce_task() -> list[str]:
    """Beat: tell members about new arrivals whose early access opened (``EarlyAccessOpened``)."""
    return services.early_access_announce_due()
