"""The sweeper (beat): sagas whose process died, holds and cancels whose process died while it stopped the
parcels, payment-retry windows that closed, refunds whose outcome payments knows. Each sweep is safe to run again and in parallel."""

from __future__ import annotations

import structlog
from django.db import transaction
from django.utils import timezone

from inventory import services as inventory_services
from orders import changes, refunds, saga, selectors
from orders.errors import CheckoutFailed
from orders.models import Order, OrderStatus, SagaStatus, SagaStep

log = structlog.get_logger(__name__)


def saga_resume(*, order: Order) -> Order:
    """Take over a saga whose process died: compensate, or carry on from the first unfinished step."""
    if not saga.lease_claim(order_id=order.pk):
        return Order.objects.get(pk=order.pk)
    order = Order.objects.get(pk=order.pk)
    saga.steps_abandon(order=order)
    if order.saga_status == SagaStatus.COMPENSATING:
        return saga.compensation_run(order=order)
    if order.status != OrderStatus.PENDING:
        return order
    failures = order.saga_steps.filter(status__in=[SagaStep.Status.FAILED, SagaStep.Status.ABANDONED]).count()
    if failures >= saga.MAX_STEP_ATTEMPTS:
        return saga.compensate(
            order=order, target=OrderStatus.FAILED, reason="checkout could not be completed", code="saga_stuck"
        )
    try:
        return saga.saga_advance(order=order)
    except CheckoutFailed:
        return Order.objects.get(pk=order.pk)


def sagas_sweep() -> int:
    """Resume or compensate every stuck saga, right here (the beat task calls this). Returns how many."""
    done = 0
    for order_id in selectors.sagas_stuck():
        try:
            saga_resume(order=Order.objects.get(pk=order_id))
            done += 1
        except Exception:
            log.warning("stuck saga could not be resumed yet", order_id=order_id, exc_info=True)
    return done


def parcel_stops_finish() -> int:
    """Finish the holds and cancels whose process died while it stopped the order's parcels (the beat task calls
    this with the saga sweep). Returns how many were dealt with."""
    done = 0
    for order_id in selectors.parcel_stops_left():
        try:
            done += int(changes.order_parcels_stop_finish(order=Order.objects.get(pk=order_id)))
        except Exception:
            log.warning("hold or cancel could not be finished yet", order_id=order_id, exc_info=True)
    return done


def order_compensate(*, order: Order) -> Order:
    """Finish a compensation that was asked for (shipping refusal, sweeper)."""
    return saga.compensation_run(order=order)


def payment_retries_expire() -> int:
    """Close the payment-retry window: cancel the order and release its stock."""
    ids = selectors.payment_retries_expired()
    for order_id in ids:
        saga.compensate(
            order=Order.objects.get(pk=order_id),
            target=OrderStatus.CANCELLED,
            reason="payment was not completed in time",
        )
    return len(ids)


def declined_holds_release() -> int:
    """Give back the stock of declined orders whose hold ended (``stock_held_until``). The order stays
    ``payment_failed`` with its retry link; a retry reserves again (409 ``insufficient_stock`` if it is
    gone by then)."""
    released = 0
    for order_id in selectors.declined_holds_ended():
        if declined_hold_release(order=Order.objects.get(pk=order_id)):
            released += 1
    return released


def declined_hold_release(*, order: Order) -> bool:
    with transaction.atomic():
        order = saga.lock(order)  # a retry locks the order too: it either runs before (and reserves) or after
        due = order.stock_held_until is not None and order.stock_held_until <= timezone.now()
        if order.status != OrderStatus.PAYMENT_FAILED or not order.stock_reserved or order.stock_committed or not due:
            return False
        inventory_services.stock_release(reference=order.stock_reference, reason="payment declined; hold ended")
        Order.objects.filter(pk=order.pk).update(stock_reserved=False, stock_released=True, stock_held_until=None)
        saga.step_record(order, "release_declined_hold")
    return True


def order_refunds_check() -> int:
    """Settle refunds still waiting here whose outcome payments knows (a gateway refusal after Finance
    approved publishes no event; a missed ``PaymentRefunded``). Returns how many changed."""
    return refunds.refunds_waiting_check()
