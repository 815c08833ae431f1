"""The sweeper (beat): sagas whose process died, payment-retry windows that closed, refunds whose outcome
payments knows. Each sweep is safe to run again and in parallel."""

from __future__ import annotations

import structlog

from orders import refunds, saga, selectors
from orders.errors import CheckoutFailed
from orders.models import Order, OrderStatus, SagaStatus, SagaStep

log = structlog.get_logger(__name__)


def saga_resume(*, order: Order) -> Order:
    """Take over a saga whose process died: compensate, or carry on from the first unfinished step."""
    if not saga.lease_claim(order_id=order.pk):
        return Order.objects.get(pk=order.pk)
    order = Order.objects.get(pk=order.pk)
    if order.saga_status == SagaStatus.COMPENSATING:
        return saga.compensation_run(order=order)
    if order.status != OrderStatus.PENDING:
        return order
    failures = order.saga_steps.filter(status=SagaStep.Status.FAILED).count()
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


def order_refunds_check() -> int:
    """Settle refunds still waiting here whose outcome payments knows (a gateway refusal after Finance
    approved publishes no event; a missed ``PaymentRefunded``). Returns how many changed."""
    return refunds.refunds_waiting_check()
