"""Celery tasks of the orders app: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from orders import services
from orders.models import Order


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def order_settle_task(order_id: int) -> None:
    """After dispatch: capture the payment and commit the stock."""
    services.order_settle(order=Order.objects.get(pk=order_id))


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def order_compensate_task(order_id: int) -> None:
    """Void/refund, release stock, cancel (shipping refused the order)."""
    services.order_compensate(order=Order.objects.get(pk=order_id))


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def order_return_settle_task(
    order_id: int,
    rma_number: str,
    decision: str,
    refund_minor: int,
    lines: list,
    warehouse_code: str,
    exchange_charge_minor: int = 0,
) -> None:
    services.order_return_settle(
        order=Order.objects.get(pk=order_id),
        rma_number=rma_number,
        decision=decision,
        refund_minor=refund_minor,
        lines=lines,
        warehouse_code=warehouse_code,
        exchange_charge_minor=exchange_charge_minor,
    )


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def order_stock_reserve_again_task(order_id: int) -> None:
    """A confirmed order lost its reservation: reserve again or put the order on hold."""
    services.order_stock_reserve_again(order=Order.objects.get(pk=order_id))


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def exchange_dispatched_task(order_number: str, shipment_number: str) -> None:
    """The replacement of an exchange left the warehouse: commit its stock."""
    services.order_exchange_dispatched(order_number=order_number, shipment_number=shipment_number)


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=10)
def order_returned_to_sender_task(order_id: int, shipment_number: str, reason: str) -> None:
    """The parcel came back: restock, and refund + cancel when it was the whole order."""
    services.order_returned_to_sender(
        order=Order.objects.get(pk=order_id), shipment_number=shipment_number, reason=reason
    )


@shared_task
def sweep_stuck_sagas_task() -> int:
    """Beat: resume or compensate sagas whose process died, finish holds and cancels whose process died while
    it stopped the parcels, settle dispatched orders left behind, and settle waiting refunds whose outcome
    payments already knows."""
    for order_id in services.orders_to_settle():
        order_settle_task.delay(order_id=order_id)
    services.order_refunds_check()
    services.parcel_stops_finish()
    return services.sagas_sweep()


@shared_task
def expire_payment_retries_task() -> int:
    """Beat: release the stock of declined orders whose hold ended; cancel orders whose retry window closed."""
    services.declined_holds_release()
    return services.payment_retries_expire()


@shared_task
def retry_waiting_exchanges_task() -> int:
    """Beat: ship the exchanges whose replacement is back in stock; refund those that waited too long."""
    return services.exchanges_waiting_retry()


@shared_task
def renew_authorizations_task() -> int:
    """Beat (hourly): renew the authorizations of undispatched orders before the gateway drops them."""
    return services.orders_authorizations_renew()
