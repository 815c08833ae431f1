"""Daily reconciliation: what the gateway says happened versus what FlowMart recorded.

For one day (UTC) it lists every charge the gateway created, matches it to
our payment by the gateway's charge id, and records each difference as a
mismatch: a charge we have no payment for, a payment the gateway has no
charge for, a different status, captured or refunded amount.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import structlog
from django.db import transaction
from django.utils import timezone

from payments.gateways import get_gateway
from payments.gateways.base import GatewayCharge, GatewayError
from payments.models import Payment, PaymentStatus, ReconciliationMismatch, ReconciliationReport

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


def reconciliation_run(*, day: date | str | None = None, gateway_name: str | None = None) -> ReconciliationReport:
    """Reconcile one UTC day (default: yesterday). Calls the gateway outside any transaction."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    day = day or (timezone.now().astimezone(UTC).date() - timedelta(days=1))
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    gateway = get_gateway(gateway_name)

    charges = gateway.list_charges(created_from=start, created_to=end)
    by_ref = {c.id: c for c in charges}
    ours = {p.gateway_ref: p for p in Payment.objects.filter(gateway=gateway.name, gateway_ref__in=list(by_ref))}
    mismatches: list[ReconciliationMismatch] = []
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
    for payment in day_payments.exclude(gateway_ref__in=list(by_ref)):
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
        )
        for mismatch in mismatches:
            mismatch.report = report
        ReconciliationMismatch.objects.bulk_create(mismatches)
    log.info(
        "payments reconciled", gateway=gateway.name, day=str(day), charges=len(charges), mismatches=len(mismatches)
    )
    return report
