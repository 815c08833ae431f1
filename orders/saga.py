"""The checkout saga (docs/architecture.md §Saga): one recorded step at a time, each with its compensation.

    validate → create order (pending) → reserve stock → authorize payment → confirm + clear basket

* Every step attempt is a ``SagaStep`` row (step, attempt, status, timings, error).
* No database transaction is open while inventory or payments are called: each
  step records "running", calls the other app's service (which owns its own
  transaction / gateway call), then records the outcome in a short transaction.
* Every step is idempotent (stock by the order's reference, payment by an
  idempotency key per order and payment round), so a saga can be re-run from
  the top after a crash: ``saga_advance`` looks at the order's facts
  (``stock_reserved``, ``authorized_minor``) to know what is left to do.
* The order holds a lease (``saga_lease_until``) while a process drives it; the
  beat sweeper takes over sagas whose lease ran out (process killed) and
  resumes or compensates them.
* Compensation runs in reverse: void (or refund once captured), release stock,
  then the order becomes ``failed`` (checkout) or ``cancelled``. A refund above the
  approval threshold waits for Finance: the order is cancelled all the same, the refund is
  booked when payments publishes ``PaymentRefunded`` (``orders.refunds``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, prefetch_related_objects
from django.utils import timezone

from flowmart.errors import FlowMartError
from flowmart.events.publisher import publish
from flowmart.transitions import transition_apply
from inventory import services as inventory_services
from orders import basket as basket_module
from orders import metrics, refunds
from orders.errors import CheckoutFailed, CheckoutGatewayUnavailable, CheckoutPaymentDeclined, CheckoutStockShortage
from orders.events import OrderCancelled, OrderConfirmed, OrderFailed, OrderPaymentFailed
from orders.models import (
    Order,
    OrderLine,
    OrderPayment,
    OrderRefund,
    OrderStatus,
    SagaStatus,
    SagaStep,
)
from orders.pricing import lines_payload
from payments import selectors as payment_selectors
from payments import services as payment_services

log = structlog.get_logger(__name__)

# Unexpected errors (not a business answer) resumed this many times before the saga gives up and compensates.
MAX_STEP_ATTEMPTS = 5


# -- bookkeeping ----------------------------------------------------------------------
def lease_until():
    return timezone.now() + timedelta(seconds=settings.ORDERS_SAGA_LEASE_SECONDS)


def lease_claim(*, order_id: int) -> bool:
    """Take over a saga whose lease ran out (or that has none). Only one process wins."""
    now = timezone.now()
    won = (
        Order.objects.filter(pk=order_id, saga_status__in=[SagaStatus.RUNNING, SagaStatus.COMPENSATING])
        .exclude(saga_lease_until__gt=now)
        .update(saga_lease_until=lease_until())
    )
    return bool(won)


def steps_abandon(*, order: Order) -> int:
    """Close the steps a dead process left ``running`` (call it after winning ``lease_claim``): they are
    ``abandoned``, so a step is never shown as running forever and the attempt counts toward giving up."""
    return _abandon(order.saga_steps.filter(status=SagaStep.Status.RUNNING))


def _abandon(running) -> int:
    now = timezone.now()
    rows = list(running)
    for row in rows:
        row.status = SagaStep.Status.ABANDONED
        row.finished_at = now
        row.error_code = "abandoned"
        row.error = "the process running this step stopped before it finished; the sweeper took over"
        row.save(update_fields=["status", "finished_at", "error_code", "error"])
        _observe(row)
    return len(rows)


def _observe(row: SagaStep) -> None:
    metrics.SAGA_STEPS.labels(row.step, row.status).inc()
    metrics.SAGA_STEP_SECONDS.labels(row.step).observe((row.finished_at - row.started_at).total_seconds())


def _step_finish(row: SagaStep, *, error: BaseException | None = None) -> None:
    row.status = SagaStep.Status.SUCCEEDED if error is None else SagaStep.Status.FAILED
    row.finished_at = timezone.now()
    row.error_code = (getattr(error, "code", "") or type(error).__name__) if error is not None else ""
    row.error = str(error)[:2000] if error is not None else ""
    row.save(update_fields=["status", "finished_at", "error_code", "error"])
    _observe(row)


class StepAttempt:
    """One attempt of a saga step (its ``SagaStep`` row) while the ``step`` block runs."""

    def __init__(self, row: SagaStep) -> None:
        self.row = row

    def succeed(self) -> None:
        """Record success now: call it inside the short transaction that stores what the step achieved, so
        that the step and the facts it vouches for commit together (after a crash both are missing)."""
        _step_finish(self.row)


def mark_new(order: Order) -> Order:
    """Mark ``order`` as created a moment ago by this process, with a fresh lease: the next step run on this copy is
    that step's first attempt (``step`` then reads nothing back and leaves the lease as it is)."""
    order._saga_new = True
    return order


@contextmanager
def step(order: Order, name: str) -> Iterator[StepAttempt]:
    """Record one attempt of saga step ``name`` around a call to another app or the gateway.

    No transaction is open: the attempt is recorded ``running`` (and the saga's lease extended) before the
    block, marked ``failed`` with the error's code if the block raises (the error goes on), and ``succeeded``
    when the block ends, unless the block recorded success itself with ``attempt.succeed()``. Work that must
    not make the step look failed (follow-ups after its facts are stored) belongs after the block.

    On an order ``mark_new`` marked (a checkout's own request) the attempt is the first: nothing earlier to count or
    abandon, no lease to extend.
    """
    if getattr(order, "_saga_new", False):
        order._saga_new = False  # only the first step run on it
        attempt_number = 1
    else:
        earlier = list(SagaStep.objects.filter(order=order, step=name))  # one read: the count and any still running
        attempt_number = len(earlier) + 1
        # An earlier attempt still ``running`` belongs to a process that died (a follow-up task run again).
        _abandon([row for row in earlier if row.status == SagaStep.Status.RUNNING])
        Order.objects.filter(pk=order.pk).update(saga_lease_until=lease_until())
    attempt = StepAttempt(SagaStep.objects.create(order=order, step=name, attempt=attempt_number))
    try:
        yield attempt
    except Exception as exc:
        _step_finish(attempt.row, error=exc)  # also when a succeed() inside a rolled-back transaction came first
        raise
    if attempt.row.status == SagaStep.Status.RUNNING:
        attempt.succeed()


def step_record(order: Order, step: str, *, error: BaseException | None = None, attempt: int | None = None) -> SagaStep:
    """A step that happens inside the caller's transaction (no outside call): begun and finished at once.
    ``attempt``: the caller knows it is the first (a step of a new order, one that commits with a status
    change that happens once), so the count is not read."""
    return SagaStep.objects.create(**_recorded_step(order, step, error=error, attempt=attempt))


def steps_record_first(order: Order, steps: list[str]) -> None:
    """The first attempts of several steps that happened at once in the caller's transaction: one insert."""
    SagaStep.objects.bulk_create([SagaStep(**_recorded_step(order, name, attempt=1)) for name in steps])


def _recorded_step(order: Order, step: str, *, error: BaseException | None = None, attempt: int | None) -> dict:
    now = timezone.now()
    if attempt is None:
        attempt = SagaStep.objects.filter(order=order, step=step).count() + 1
    return {
        "order": order,
        "step": step,
        "attempt": attempt,
        "status": SagaStep.Status.SUCCEEDED if error is None else SagaStep.Status.FAILED,
        "started_at": now,
        "finished_at": now,
        "error_code": (getattr(error, "code", "") or type(error).__name__) if error is not None else "",
        "error": str(error)[:2000] if error is not None else "",
    }


# -- the idempotency ledger ---------------------------------------------------------------
# One-off jobs on an order that an event can ask for twice (settle the return RMA-…) leave a succeeded step
# named after the job: a redelivered event finds the job done and does nothing.
def ledger_entry(job: str, reference: str) -> str:
    return f"{job}:{reference}"[:32]


def ledger_has(order: Order, entry: str) -> bool:
    return order.saga_steps.filter(step=entry, status=SagaStep.Status.SUCCEEDED).exists()


def ledger_add(order: Order, entry: str) -> None:
    step_record(order, entry)


def lock(order: Order) -> Order:
    # The customer comes along (events name them), locked is the order row only.
    return Order.objects.select_for_update(of=("self",)).select_related("user").get(pk=order.pk)


def user_id_of(order: Order) -> str | None:
    return str(order.user.public_id) if order.user_id else None


def payment_request(order: Order, *, amount_minor: int, idempotency_key: str) -> payment_services.PaymentRequest:
    """An authorization for this order on the customer's payment method."""
    return payment_services.PaymentRequest(
        reference=order.payment_reference,
        amount_minor=amount_minor,
        currency=order.currency,
        payment_method=order.payment_method,
        idempotency_key=idempotency_key,
        customer_email=order.email,
        customer_user_id=user_id_of(order),
        correlation_id=order.number,
    )


def order_confirmed_event(order: Order, *, lines: list[OrderLine] | None = None) -> OrderConfirmed:
    return OrderConfirmed(
        correlation_id=order.number,
        order_number=order.number,
        user_id=user_id_of(order),
        customer_email=order.email,
        customer_name=order.customer_name,
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        shipping_minor=order.shipping_minor,
        discount_minor=order.discount_minor,
        total_minor=order.total_minor,
        shipping_method=order.shipping_method,
        shipping_address=order.shipping_address,
        lines=lines_payload(order, lines),
        placed_at=order.placed_at.isoformat(),
    )


def allocations_by_sku(reservation) -> dict[str, list[dict]]:
    """Which warehouse holds what, per SKU, as an order line stores it (for OrderConfirmed and the staff screens)."""
    by_sku: dict[str, list[dict]] = {}
    for allocation in reservation.allocations:
        by_sku.setdefault(allocation.sku, []).append(
            {"warehouse_code": allocation.warehouse_code, "quantity": allocation.quantity}
        )
    return by_sku


def store_allocations(order: Order, reservation, *, lines: list[OrderLine] | None = None) -> None:
    """Which warehouse holds what, per line."""
    by_sku = allocations_by_sku(reservation)
    lines = list(order.lines.all()) if lines is None else lines
    for line in lines:
        line.allocations = by_sku.get(line.sku, [])
    OrderLine.objects.bulk_update(lines, ["allocations"])


# -- the forward steps -------------------------------------------------------------
def _step_reserve(order: Order) -> Order:
    order_lines = list(order.lines.all())
    lines = [inventory_services.StockLine(sku=line.sku, quantity=line.quantity) for line in order_lines]
    try:
        with step(order, "reserve_stock") as attempt:
            reservation = inventory_services.stock_reserve(
                reference=order.stock_reference, lines=lines, ttl_minutes=settings.ORDERS_RESERVATION_TTL_MINUTES
            )
            with transaction.atomic():
                store_allocations(order, reservation, lines=order_lines)
                Order.objects.filter(pk=order.pk).update(stock_reserved=True, stock_released=False)
                attempt.succeed()
    except FlowMartError as exc:
        compensate(order=order, target=OrderStatus.FAILED, reason=f"stock: {exc.detail}", code=exc.code)
        raise CheckoutStockShortage(
            "Some items are no longer available in the quantity you asked for; your basket is unchanged.",
            order_number=order.number,
            shortages=exc.extra.get("shortages", []),
        ) from exc
    # The next step locks the order and checks its status again, so this copy need not be read back.
    order.stock_reserved, order.stock_released = True, False
    return order


def _step_authorize(order: Order) -> Order | None:
    try:
        with step(order, "authorize_payment") as attempt:
            info = payment_services.payment_authorize(
                payment_request(
                    order,
                    amount_minor=order.total_minor - order.authorized_minor,
                    idempotency_key=f"{order.number}:authorize:{order.payment_round}",
                )
            )
            with transaction.atomic():
                locked = lock(order)
                if locked.status != OrderStatus.PENDING or locked.saga_status != SagaStatus.RUNNING:
                    # Our lease ran out while the gateway answered and the order was compensated meanwhile:
                    # the authorization is nobody's, release it (below) instead of recording it.
                    orphaned = True
                    attempt.succeed()
                else:
                    # Same transaction as authorized_minor: after a crash both are missing and the re-run (same
                    # key) adds both.
                    orphaned = False
                    OrderPayment.objects.create(
                        payment_id=info.id, order=order, amount_minor=info.amount_minor, purpose="checkout"
                    )
                    locked.authorized_minor += info.amount_minor
                    attempt.succeed()
                    if locked.authorized_minor >= locked.total_minor:
                        _confirm(locked)  # the authorization that completes the order confirms it, one UPDATE
                    else:
                        locked.save(update_fields=["authorized_minor", "updated_at"])
    except FlowMartError as exc:
        _authorization_refused(order, exc)
        return None
    if orphaned:
        payment_services.payment_abandon(payment_id=info.id, reason=f"order {order.number} no longer waits for it")
        return None
    return locked  # read under lock and updated: the loop need not read it again


def _authorization_refused(order: Order, exc: FlowMartError) -> None:
    """The gateway said no: a decline parks the order for a retry; anything else fails it (compensated)."""
    if exc.code == "payment_declined":
        decline_code = str(exc.extra.get("decline_code") or "card_declined")
        payment_failed(order=order, decline_code=decline_code)
        raise CheckoutPaymentDeclined(
            f"Your payment was declined ({decline_code.replace('_', ' ')}). Your basket is unchanged; "
            "please try another card.",
            order_number=order.number,
            decline_code=decline_code,
        ) from exc
    compensate(order=order, target=OrderStatus.FAILED, reason=f"payment: {exc.detail}", code=exc.code)
    if exc.code == "gateway_unavailable" or exc.status >= 500:
        raise CheckoutGatewayUnavailable(
            "The payment service is not answering right now. Nothing was charged and your basket is "
            "unchanged; please try again in a moment.",
            order_number=order.number,
        ) from exc
    raise CheckoutFailed(exc.detail, code=exc.code, order_number=order.number) from exc


def _step_confirm(order: Order) -> Order:
    """Confirm an order whose stock and payment were recorded before (the authorization usually confirms it)."""
    with transaction.atomic():
        order = lock(order)
        if order.status != OrderStatus.PENDING:
            return order
        _confirm(order)
    return order


def _confirm(order: Order) -> None:
    """``pending → confirmed`` (saved with whatever else changed on the locked ``order``), the ordered quantities
    leave the basket, ``OrderConfirmed``: in the caller's transaction."""
    order.saga_status = SagaStatus.COMPLETED
    order.saga_lease_until = None
    transition_apply(order, "confirm", reason="stock reserved and payment authorized")
    prefetch_related_objects([order], "lines")  # read once: the event and the caller's answer both show them
    lines = list(order.lines.all())
    if order.basket_public_id:
        quantities: dict[str, int] = {}
        for line in lines:
            quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
        basket_module.basket_clear_lines(basket_public_id=order.basket_public_id, quantities=quantities)
    step_record(order, "confirm", attempt=1)  # commits with the one transition out of pending
    publish(order_confirmed_event(order, lines=lines))


def saga_advance(*, order: Order, fresh: bool = False) -> Order:
    """Run whatever is left of the forward saga. Raises ``CheckoutFailed`` subclasses on business failures
    (after compensating or parking the order in ``payment_failed``); other exceptions leave the saga for the
    sweeper.

    ``order`` may be the caller's copy: it is read again here unless ``fresh`` (the caller just created or
    locked it in a transaction that committed), and after a step only when the step could not vouch for it.
    """
    current: Order | None = order if fresh else None
    while True:
        order = current or Order.objects.select_related("user").get(pk=order.pk)
        if order.status != OrderStatus.PENDING or order.saga_status != SagaStatus.RUNNING:
            return order
        if not order.stock_reserved:
            current = _step_reserve(order)
        elif order.authorized_minor < order.total_minor:
            current = _step_authorize(order)
        else:
            return _step_confirm(order)


# -- side paths ----------------------------------------------------------------------------
def payment_failed(*, order: Order, decline_code: str) -> Order:
    """A decline parks the order in ``payment_failed``: the customer may retry until ``retry_until``
    (``PAYMENT_RETRY_WINDOW_HOURS``), the stock stays held only until ``stock_held_until``
    (``ORDERS_DECLINE_HOLD_MINUTES``; the sweeper then releases it and a retry reserves again), so declined
    cards do not keep paying customers out."""
    with transaction.atomic():
        order = lock(order)
        order.decline_code = decline_code
        now = timezone.now()
        if order.retry_until is None:  # the window opens at the first decline; retries do not extend it
            order.retry_until = now + timedelta(hours=settings.PAYMENT_RETRY_WINDOW_HOURS)
        order.stock_held_until = min(now + timedelta(minutes=settings.ORDERS_DECLINE_HOLD_MINUTES), order.retry_until)
        order.saga_status = SagaStatus.WAITING
        order.saga_lease_until = None
        transition_apply(order, "fail_payment", reason=f"payment declined: {decline_code}")
        publish(
            OrderPaymentFailed(
                correlation_id=order.number,
                order_number=order.number,
                user_id=user_id_of(order),
                customer_email=order.email,
                decline_code=decline_code,
                retry_until=order.retry_until.isoformat(),
                total_minor=order.total_minor,
                currency=order.currency,
            )
        )
    return order


# -- compensation ------------------------------------------------------------------------------
def compensate(*, order: Order, target: str, reason: str, actor: str = "system", by=None, code: str = "") -> Order:
    """Undo what the saga did (void/refund, release stock) and end in ``target`` (failed | cancelled).

    Safe to call again: finished compensations are skipped and each gateway call is idempotent. If an
    outside call fails, the order stays ``compensating`` and the sweeper finishes the job later.
    """
    with transaction.atomic():
        locked = lock(order)
        if locked.saga_status == SagaStatus.COMPENSATED:
            return locked
        if locked.saga_status != SagaStatus.COMPENSATING:
            locked.saga_status = SagaStatus.COMPENSATING
            locked.compensation_target = target
            locked.compensation_reason = reason[:255]
            locked.compensation_by = actor
            if code:
                locked.failure_code = code
            locked.failure_detail = reason[:500]
        locked.saga_lease_until = lease_until()
        locked.save()
    try:
        return compensation_run(order=locked, by=by)
    except Exception:
        log.warning("compensation incomplete; the sweeper will finish it", order=locked.number, exc_info=True)
        return Order.objects.get(pk=locked.pk)


def _payments_to_undo(order: Order) -> list[OrderPayment]:
    known = {p.payment_id for p in order.payments.all()}
    for info in payment_selectors.payments_for_reference(reference=order.payment_reference):
        if info.status == "pending":
            # A crash between opening the payment and recording the gateway's answer (or an answer still on its
            # way): payments closes it for good, asks the gateway by key and voids any hold it made.
            with step(order, "abandon_payment"):
                info = payment_services.payment_abandon(payment_id=info.id, reason=order.compensation_reason)
        # A crash between the gateway's answer and our record leaves an authorization we do not know yet.
        if info.id not in known and info.status in ("authorized", "captured"):
            OrderPayment.objects.get_or_create(
                payment_id=info.id,
                defaults={
                    "order": order,
                    "amount_minor": info.amount_minor,
                    "captured_minor": info.captured_minor,
                    "purpose": "recovered",
                },
            )
            Order.objects.filter(pk=order.pk).update(
                authorized_minor=F("authorized_minor") + info.amount_minor,
                captured_minor=F("captured_minor") + info.captured_minor,
            )
    return list(order.payments.filter(voided=False))


def payment_void(*, order: Order, payment: OrderPayment, reason: str) -> None:
    """Void one authorization (a recorded step). Safe after a crash: a payment already voided (or one that
    never went through) is only recorded."""
    info = payment_selectors.payment_get(payment_id=payment.payment_id)
    if info is not None and info.status in ("authorized",):
        with step(order, "void_payment"):
            payment_services.payment_void(payment_id=payment.payment_id, reason=reason)
    OrderPayment.objects.filter(pk=payment.pk).update(voided=True)


def compensation_run(*, order: Order, by=None) -> Order:
    order = Order.objects.get(pk=order.pk)
    for payment in _payments_to_undo(order):
        # A refund waiting for Finance is already asked for: it is booked when it goes through.
        outstanding = payment.captured_minor - payment.refunded_minor - refunds.refund_waiting_minor(payment=payment)
        if payment.captured_minor == 0:
            payment_void(order=order, payment=payment, reason=order.compensation_reason)
        elif outstanding > 0:
            with step(order, "refund_payment") as attempt:
                info = payment_services.payment_refund(
                    payment_id=payment.payment_id,
                    amount_minor=outstanding,
                    reason=order.compensation_reason,
                    requested_by=by,
                    idempotency_key=f"{order.number}:compensate:{payment.payment_id}",
                )
                with transaction.atomic():
                    refund, _ = refunds.refund_record(
                        order=order, payment=payment, info=info, purpose=OrderRefund.Purpose.CANCELLATION
                    )
                    attempt.succeed()
            refunds.refund_catch_up(refund=refund)
    order = Order.objects.get(pk=order.pk)
    if not order.stock_committed and not order.stock_released:
        with step(order, "release_stock") as attempt:
            inventory_services.stock_release(reference=order.stock_reference, reason=order.compensation_reason)
            with transaction.atomic():
                Order.objects.filter(pk=order.pk).update(stock_released=True, stock_reserved=False)
                attempt.succeed()
    return _compensation_finish(order=order, by=by)


def _compensation_finish(*, order: Order, by=None) -> Order:
    with transaction.atomic():
        order = lock(order)
        if order.saga_status == SagaStatus.COMPENSATED:
            return order
        target = order.compensation_target or OrderStatus.CANCELLED
        name = "fail" if target == OrderStatus.FAILED and order.status == OrderStatus.PENDING else "cancel"
        if order.status not in (OrderStatus.CANCELLED, OrderStatus.FAILED):
            transition_apply(
                order, name, actor=order.compensation_by or "system", by=by, reason=order.compensation_reason
            )
        order.saga_status = SagaStatus.COMPENSATED
        order.saga_lease_until = None
        order.save()
        step_record(order, "compensated")
        common = {
            "correlation_id": order.number,
            "order_number": order.number,
            "user_id": user_id_of(order),
            "customer_email": order.email,
            "reason": order.compensation_reason,
        }
        if order.status == OrderStatus.FAILED:
            publish(OrderFailed(**common, code=order.failure_code or "checkout_failed"))
        else:
            publish(
                OrderCancelled(
                    **common,
                    cancelled_by=order.compensation_by or "system",
                    refunded_minor=order.refunded_minor,
                    refund_pending_minor=order.refund_pending_minor,
                    currency=order.currency,
                )
            )
    return order
