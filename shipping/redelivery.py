"""After a failed delivery attempt: the new estimate, the customer's choice, the instructions to the carrier.

``tracking._fail_attempt`` records each failed attempt as a ``DeliveryFailure`` and queues the follow-up; the
functions here do it, each in three phases (read, call the carrier with no transaction open, record under the
row lock), and each is safe to run twice. The beat poll (``delivery_failures_follow_up``) redoes whatever a lost
task left undone.
"""

from __future__ import annotations

from datetime import date, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowmart.errors import Conflict
from flowmart.events.publisher import publish
from shipping.carriers import (
    CUSTOMER_CHOICES,
    PICKUP,
    CarrierUnavailable,
    DeliveryOptions,
    InstructionRefused,
    get_carrier,
)
from shipping.events import DeliveryInstructionRefused, DeliveryRescheduled
from shipping.models import DeliveryFailure, Shipment
from shipping.tracking import ShipmentNotFound, shipment_payload, shipment_returned_to_sender

log = structlog.get_logger(__name__)

S = Shipment.Status
# Parcels for which a new estimate still means something to the customer.
_STILL_ON_THE_WAY = (S.DELIVERY_FAILED, S.IN_TRANSIT)


class DeliveryChoiceNotAvailable(Conflict):
    code = "delivery_choice_not_available"
    title = "That delivery choice is not available for this parcel"


def shop_estimate(*, failed_on: date) -> date:
    """The shop's rule when the carrier gives no estimate: the next business day after the failed attempt,
    plus ``SHIPPING_REDELIVERY_EXTRA_BUSINESS_DAYS`` business days (Monday to Friday)."""
    day = failed_on
    for _ in range(1 + settings.SHIPPING_REDELIVERY_EXTRA_BUSINESS_DAYS):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def _failure(shipment_number: str, attempt: int) -> DeliveryFailure | None:
    return (
        DeliveryFailure.objects.select_related("shipment")
        .filter(shipment__number=shipment_number, attempt=attempt)
        .first()
    )


def _locked(failure: DeliveryFailure) -> tuple[Shipment, DeliveryFailure]:
    shipment = Shipment.objects.select_for_update().get(pk=failure.shipment_id)
    return shipment, DeliveryFailure.objects.select_for_update().get(pk=failure.pk)


def delivery_options_fetch(*, shipment_number: str, attempt: int) -> DeliveryFailure | None:
    """Ask the carrier for its new estimate and the customer's choices after failed attempt ``attempt``, record
    them (the shop's rule when the carrier gives no estimate) and publish ``DeliveryRescheduled`` once.

    Carrier unreachable: nothing recorded, the poll asks again; after ``SHIPPING_DELIVERY_OPTIONS_WAIT_SECONDS``
    the customer is told the shop's estimate, with no choice, rather than nothing.
    """
    failure = _failure(shipment_number, attempt)
    if failure is None or failure.options_checked_at is not None:
        return failure
    shipment = failure.shipment
    options = DeliveryOptions()
    if shipment.status in _STILL_ON_THE_WAY:
        try:
            options = get_carrier(shipment.carrier or None).delivery_options(tracking_number=shipment.tracking_number)
        except CarrierUnavailable as exc:
            waited = timezone.now() - failure.recorded_at
            if waited < timedelta(seconds=settings.SHIPPING_DELIVERY_OPTIONS_WAIT_SECONDS):
                log.warning("carrier unavailable for delivery options", shipment=shipment_number, error=str(exc))
                return failure
            log.warning("carrier still unavailable: telling the customer our estimate", shipment=shipment_number)

    with transaction.atomic():
        shipment, failure = _locked(failure)
        if failure.options_checked_at is not None:
            return failure
        failure.options_checked_at = timezone.now()
        if shipment.status not in _STILL_ON_THE_WAY:  # delivered, returned or cancelled meanwhile: nothing to say
            failure.save(update_fields=["options_checked_at"])
            return failure
        # Choices only while the parcel waits after this very attempt (not once the carrier re-attempts).
        waiting = shipment.status == S.DELIVERY_FAILED and shipment.failed_attempts == failure.attempt
        failure.choices = [c for c in options.choices if c in CUSTOMER_CHOICES] if waiting else []
        failure.pickup_point = options.pickup_point if PICKUP in failure.choices else ""
        if options.estimated_delivery_date is not None:
            failure.estimated_delivery_date = options.estimated_delivery_date
            failure.estimate_source = DeliveryFailure.EstimateSource.CARRIER
        else:
            failure.estimated_delivery_date = shop_estimate(failed_on=timezone.localtime(failure.failed_at).date())
            failure.estimate_source = DeliveryFailure.EstimateSource.SHOP_RULE
        failure.save()
        publish(
            DeliveryRescheduled(
                correlation_id=shipment.order_number,
                **shipment_payload(shipment),
                attempt=failure.attempt,
                reason=failure.reason,
                estimated_delivery_date=failure.estimated_delivery_date.isoformat(),
                estimate_source=failure.estimate_source,
                choices=list(failure.choices),
                pickup_point=failure.pickup_point,
            )
        )
    return failure


def shipment_delivery_choose(
    *, order_number: str, shipment_number: str, choice: str, user_id: str | None = None
) -> DeliveryFailure:
    """The customer chooses re-delivery or pick-up for a parcel waiting after a failed attempt.

    With ``user_id`` the shipment must be that customer's (else 404, as for someone else's order); without it
    the caller has checked the order is the requester's (the storefront, for guests too). The choice is
    recorded, then passed to the carrier; a carrier that is down gets it from the poll later; a carrier that
    refuses it undoes it (409 ``delivery_choice_not_available``, with the carrier's words). Choosing the same
    again is harmless.
    """
    with transaction.atomic():
        shipments = Shipment.objects.select_for_update().filter(order_number=order_number, number=shipment_number)
        if user_id is not None:
            shipments = shipments.filter(user_id=str(user_id))
        shipment = shipments.first()
        if shipment is None:
            raise ShipmentNotFound(f"No shipment {shipment_number} in order {order_number}.")
        failure = (
            DeliveryFailure.objects.select_for_update()
            .filter(shipment=shipment, attempt=shipment.failed_attempts)
            .first()
        )
        offered = failure is not None and shipment.status == S.DELIVERY_FAILED and choice in failure.choices
        if not offered or failure.instruction not in ("", choice):
            raise DeliveryChoiceNotAvailable(_why_not(shipment, failure, choice))
        if not failure.instruction:
            failure.instruction = choice
            failure.instruction_at = timezone.now()
            failure.save(update_fields=["instruction", "instruction_at"])
    return _instruction_send(failure, undo_if_refused=True)


def _why_not(shipment: Shipment, failure: DeliveryFailure | None, choice: str) -> str:
    if failure is not None and failure.instruction:
        return f"You already chose: {failure.get_instruction_display().lower()}."
    if shipment.status != S.DELIVERY_FAILED:
        return "This parcel is not waiting after a failed delivery attempt any more."
    return f"The carrier does not offer “{choice}” for this parcel."


def delivery_instruction_send(*, shipment_number: str, attempt: int) -> DeliveryFailure | None:
    """Pass a recorded instruction the carrier has not accepted yet (a lost task, the carrier down, or the
    shop's ``return``). A refusal is kept in ``instruction_error`` for staff; it is not retried."""
    failure = _failure(shipment_number, attempt)
    if failure is None or not failure.instruction or failure.instruction_sent_at or failure.instruction_error:
        return failure
    if failure.instruction == DeliveryFailure.Instruction.RETURN:
        shipment = failure.shipment
        if shipment.tracking_events.filter(code="returned_to_sender").exists():
            # the carrier already sent it back by itself (and tracking moved the parcel): nothing to ask
            DeliveryFailure.objects.filter(pk=failure.pk, instruction_sent_at__isnull=True).update(
                instruction_sent_at=timezone.now()
            )
            failure.refresh_from_db()
            return failure
        if shipment.status != S.DELIVERY_FAILED:  # delivered (or cancelled) before the carrier was asked
            DeliveryFailure.objects.filter(pk=failure.pk, instruction_sent_at__isnull=True).update(
                instruction_error=f"Not sent: the parcel was {shipment.get_status_display().lower()} first."[:255]
            )
            failure.refresh_from_db()
            return failure
    return _instruction_send(failure, undo_if_refused=False)


def _instruction_send(failure: DeliveryFailure, *, undo_if_refused: bool) -> DeliveryFailure:
    if failure.instruction_sent_at is not None:
        return failure
    shipment = failure.shipment
    try:
        estimate = get_carrier(shipment.carrier or None).delivery_instruct(
            tracking_number=shipment.tracking_number, instruction=failure.instruction
        )
    except CarrierUnavailable as exc:
        log.warning("carrier unavailable for a delivery instruction", shipment=shipment.number, error=str(exc))
        return failure
    except InstructionRefused as exc:
        with transaction.atomic():
            shipment, failure = _locked(failure)
            if undo_if_refused:  # the customer hears it now and may choose the other option
                failure.choices = [c for c in failure.choices if c != failure.instruction]
                failure.instruction, failure.instruction_at = "", None
            else:  # the shop's own instruction: staff must arrange it with the carrier
                failure.instruction_error = exc.detail[:255]
                publish(
                    DeliveryInstructionRefused(
                        correlation_id=shipment.order_number,
                        order_number=shipment.order_number,
                        shipment_number=shipment.number,
                        attempt=failure.attempt,
                        instruction=failure.instruction,
                        detail=failure.instruction_error,
                    )
                )
            failure.save()
        if undo_if_refused:
            raise DeliveryChoiceNotAvailable(exc.detail) from exc
        log.warning("carrier refused a delivery instruction", shipment=shipment.number, error=exc.detail)
        return failure
    with transaction.atomic():
        shipment, failure = _locked(failure)
        if failure.instruction_sent_at is None:
            failure.instruction_sent_at = timezone.now()
            if estimate is not None:
                failure.estimated_delivery_date = estimate
                failure.estimate_source = DeliveryFailure.EstimateSource.CARRIER
            failure.save()
            _returning_accepted(shipment, failure, actor="system", reason=_gave_up(failure))
    return failure


def _gave_up(failure: DeliveryFailure) -> str:
    return (
        f"{failure.attempt} failed delivery attempts (the shop allows "
        f"{settings.SHIPPING_MAX_DELIVERY_ATTEMPTS}): returned to sender"
    )


def _returning_accepted(shipment: Shipment, failure: DeliveryFailure, *, actor: str, reason: str, by=None) -> None:
    """The parcel counts as returned (and orders refunds it) only once the carrier has accepted to send it back,
    and only if it still waits after this failed attempt: a parcel delivered meanwhile stays delivered."""
    waiting = shipment.status == S.DELIVERY_FAILED and shipment.failed_attempts == failure.attempt
    if failure.instruction == DeliveryFailure.Instruction.RETURN and waiting:
        shipment_returned_to_sender(shipment, actor=actor, by=by, reason=reason)


class ReturnNotAwaited(Conflict):
    code = "return_not_awaited"
    title = "This parcel is not waiting to be returned"


def shipment_return_arranged(*, shipment_number: str, by, reason: str = "") -> Shipment:
    """Staff arranged the return with the carrier themselves (it refused or takes no instructions through its
    API): the parcel counts as returned to sender from now, as if the carrier had accepted."""
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().filter(number=shipment_number).first()
        if shipment is None:
            raise ShipmentNotFound(f"No shipment {shipment_number}.")
        failure = (
            DeliveryFailure.objects.select_for_update()
            .filter(shipment=shipment, attempt=shipment.failed_attempts, instruction=DeliveryFailure.Instruction.RETURN)
            .first()
        )
        if failure is None or failure.instruction_sent_at is not None or shipment.status != S.DELIVERY_FAILED:
            raise ReturnNotAwaited(f"Parcel {shipment_number} is not waiting for the carrier to take it back.")
        failure.instruction_sent_at = timezone.now()
        failure.save(update_fields=["instruction_sent_at"])
        _returning_accepted(
            shipment, failure, actor="staff", by=by, reason=reason or "Return arranged with the carrier by staff"
        )
    return shipment


def delivery_failures_follow_up(*, batch_size: int) -> dict:
    """The poll's share: estimates still missing, instructions the carrier has not accepted yet."""
    counts = {"estimates": 0, "instructions": 0}
    missing = (
        DeliveryFailure.objects.filter(options_checked_at__isnull=True, shipment__status__in=_STILL_ON_THE_WAY)
        .exclude(instruction=DeliveryFailure.Instruction.RETURN)  # the shop gave up: no estimate, no choice
        .order_by("recorded_at", "id")
    )
    for number, attempt in missing.values_list("shipment__number", "attempt")[:batch_size]:
        failure = delivery_options_fetch(shipment_number=number, attempt=attempt)
        counts["estimates"] += int(failure is not None and failure.options_checked_at is not None)
    unsent = (
        DeliveryFailure.objects.exclude(instruction="")
        .filter(instruction_sent_at__isnull=True, instruction_error="")
        .order_by("instruction_at", "id")
    )
    for number, attempt in unsent.values_list("shipment__number", "attempt")[:batch_size]:
        failure = delivery_instruction_send(shipment_number=number, attempt=attempt)
        counts["instructions"] += int(failure is not None and failure.instruction_sent_at is not None)
    return counts
