"""Daily reconciliation: what the gateway says happened versus what FlowMart recorded.

For one day (UTC) it compares two things:

* **money movements by the day they happened**: every capture, refund, dispute withdrawal and
  reinstatement the gateway booked that day (``Gateway.movements``; Stripe: balance transactions) against
  ours (``PaymentMovement``), summed per charge and kind, amount and fee: a refund made today of a charge
  from last week is in today's report;
* **the charges concerned**, in their current state: every charge created that day, plus every charge with
  a movement that day on either side, matched to our payment by the gateway's charge id: a charge we have
  no payment for, a payment the gateway has no charge for, a different status, captured or refunded amount.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import structlog
from django.db import transaction
from django.utils import timezone

from payments.gateways import get_gateway
from payments.gateways.base import GatewayCharge, GatewayError, GatewayMovement
from payments.models import Payment, PaymentMovement, PaymentStatus, ReconciliationMismatch, ReconciliationReport

log = structlog.get_logger(__name__)

# How each of our states should look at the gateway.
EXPECTED_GATEWAY_STATUS = {
    PaymentStatus.AUTHORIZED: "authorized",
    PaymentStatus.CAPTURED: "captured",
    PaymentStatus.PARTIALLY_REFUNDED: "captured",
    PaymentStatus.REFUNDED: "captured",
    PaymentStatus.DISPUTED: "captured",
    PaymentStatus.CHARGEBACK_WON: "captured",
    PaymentStatus.CHARGEBACK_LOST: "captured",
    PaymentStatus.VOIDED: "voided",
    PaymentStatus.EXPIRED: "voided",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.PENDING: "(no answer recorded)",
}
Kind = ReconciliationMismatch.Kind


def _compare(payment: Payment, charge: GatewayCharge) -> list[tuple[str, str, str]]:
    found = []
    if EXPECTED_GATEWAY_STATUS[payment.status] != charge.status:
        found.append((Kind.STATUS, payment.status, charge.status))
    if payment.captured_minor != charge.captured_minor:
        found.append((Kind.CAPTURED, str(payment.captured_minor), str(charge.captured_minor)))
    if payment.refunded_minor != charge.refunded_minor:
        found.append((Kind.REFUNDED, str(payment.refunded_minor), str(charge.refunded_minor)))
    return found


def _movement_mismatches(theirs: list[GatewayMovement], ours: list[PaymentMovement]) -> list[ReconciliationMismatch]:
    """Per (charge, kind): the day's amounts and fees summed on each side must agree."""
    totals: dict[tuple[str, str], list[int]] = {}  # key -> [their amount, their fee, our amount, our fee]
    for m in theirs:
        row = totals.setdefault((m.charge_id, m.kind), [0, 0, 0, 0])
        row[0] += m.amount_minor
        row[1] += m.fee_minor
    payments: dict[str, Payment] = {}
    for m in ours:
        row = totals.setdefault((m.payment.gateway_ref, m.kind), [0, 0, 0, 0])
        row[2] += m.amount_minor
        row[3] += m.fee_minor
        payments[m.payment.gateway_ref] = m.payment
    return [
        ReconciliationMismatch(
            kind=Kind.MOVEMENT,
            gateway_ref=charge_id,
            payment=payments.get(charge_id),
            flowmart_value=f"{kind} {row[2]} fee {row[3]}",
            gateway_value=f"{kind} {row[0]} fee {row[1]}",
        )
        for (charge_id, kind), row in sorted(totals.items())
        if (row[0], row[1]) != (row[2], row[3])
    ]


def reconciliation_run(*, day: date | str | None = None, gateway_name: str | None = None) -> ReconciliationReport:
    """Reconcile one UTC day (default: yesterday). Calls the gateway outside any transaction."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    day = day or (timezone.now().astimezone(UTC).date() - timedelta(days=1))
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    gateway = get_gateway(gateway_name)

    charges = gateway.list_charges(created_from=start, created_to=end)
    their_movements = gateway.movements(created_from=start, created_to=end)
    our_movements = list(
        PaymentMovement.objects.filter(
            payment__gateway=gateway.name, happened_at__gte=start, happened_at__lt=end
        ).select_related("payment")
    )
    mismatches = _movement_mismatches(their_movements, our_movements)
    by_ref = {c.id: c for c in charges}
    ours = {p.gateway_ref: p for p in Payment.objects.filter(gateway=gateway.name, gateway_ref__in=list(by_ref))}
    for charge in charges:
        payment = ours.get(charge.id)
        if payment is None:
            mismatches.append(
                ReconciliationMismatch(
                    kind=Kind.MISSING_IN_FLOWMART,
                    gateway_ref=charge.id,
                    gateway_value=f"{charge.status} {charge.captured_minor}/{charge.amount_minor} {charge.currency}",
                )
            )
            continue
        for kind, mine, theirs in _compare(payment, charge):
            mismatches.append(
                ReconciliationMismatch(
                    kind=kind, gateway_ref=charge.id, payment=payment, flowmart_value=mine, gateway_value=theirs
                )
            )

    day_payments = Payment.objects.filter(gateway=gateway.name, created_at__gte=start, created_at__lt=end)
    # Older charges money moved on today (either side says so) are compared too.
    moved_refs = {m.charge_id for m in their_movements} | {m.payment.gateway_ref for m in our_movements}
    moved_payments = Payment.objects.filter(gateway=gateway.name, gateway_ref__in=moved_refs - set(by_ref))
    for ref in sorted(moved_refs - set(by_ref) - set(moved_payments.values_list("gateway_ref", flat=True))):
        mismatches.append(
            ReconciliationMismatch(kind=Kind.MISSING_IN_FLOWMART, gateway_ref=ref, gateway_value="money moved")
        )
    to_check = list(day_payments.exclude(gateway_ref__in=list(by_ref))) + [
        p for p in moved_payments if not (start <= p.created_at < end)
    ]
    for payment in to_check:
        if not payment.gateway_ref:
            if payment.status == PaymentStatus.FAILED:
                continue  # refused before the gateway made a charge (invalid method, gateway down)
            mismatches.append(
                ReconciliationMismatch(
                    kind=Kind.MISSING_AT_GATEWAY, payment=payment, flowmart_value=payment.status, gateway_value="-"
                )
            )
            continue
        try:  # created at the gateway on the other side of midnight?
            charge = gateway.retrieve(charge_id=payment.gateway_ref)
        except GatewayError:
            mismatches.append(
                ReconciliationMismatch(
                    kind=Kind.MISSING_AT_GATEWAY,
                    gateway_ref=payment.gateway_ref,
                    payment=payment,
                    flowmart_value=payment.status,
                    gateway_value="-",
                )
            )
            continue
        for kind, mine, theirs in _compare(payment, charge):
            mismatches.append(
                ReconciliationMismatch(
                    kind=kind, gateway_ref=charge.id, payment=payment, flowmart_value=mine, gateway_value=theirs
                )
            )

    with transaction.atomic():
        report = ReconciliationReport.objects.create(
            gateway=gateway.name,
            period_start=start,
            period_end=end,
            gateway_charges=len(charges),
            flowmart_payments=day_payments.count(),
            mismatch_count=len(mismatches),
            gateway_movements=len(their_movements),
            flowmart_movements=len(our_movements),
        )
        for mismatch in mismatches:
            mismatch.report = report
        ReconciliationMismatch.objects.bulk_create(mismatches)
    log.info(
        "payments reconciled",
        gateway=gateway.name,
        day=str(day),
        charges=len(charges),
        movements=len(their_movements),
        mismatches=len(mismatches),
    )
    return report
