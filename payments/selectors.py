"""Read-only queries of the payments app. Other apps get plain dataclasses, never models."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from flowmart.history import HistoryEntry, history
from payments.exports import payments_export, refunds_export  # noqa: F401 (re-exported: manage.py export)
from payments.models import Payment, Refund, SavedPaymentMethod


@dataclass(frozen=True)
class PaymentInfo:
    id: uuid.UUID
    reference: str
    status: str
    amount_minor: int
    captured_minor: int
    refunded_minor: int
    currency: str
    brand: str
    last4: str
    decline_code: str
    created_at: datetime


@dataclass(frozen=True)
class RefundInfo:
    id: uuid.UUID
    payment_id: uuid.UUID
    amount_minor: int
    currency: str
    status: str  # pending_approval | processing | succeeded | failed | rejected
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class PaymentMethodInfo:
    id: uuid.UUID
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def payment_info(payment: Payment) -> PaymentInfo:
    return PaymentInfo(
        id=payment.id,
        reference=payment.reference,
        status=payment.status,
        amount_minor=payment.amount_minor,
        captured_minor=payment.captured_minor,
        refunded_minor=payment.refunded_minor,
        currency=payment.currency,
        brand=payment.brand,
        last4=payment.last4,
        decline_code=payment.decline_code,
        created_at=payment.created_at,
    )


def refund_info(refund: Refund) -> RefundInfo:
    return RefundInfo(
        id=refund.id,
        payment_id=refund.payment_id,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        status=refund.status,
        reason=refund.reason,
        created_at=refund.created_at,
    )


def payment_method_info(method: SavedPaymentMethod) -> PaymentMethodInfo:
    return PaymentMethodInfo(
        id=method.id,
        token=method.token,
        brand=method.brand,
        last4=method.last4,
        exp_month=method.exp_month,
        exp_year=method.exp_year,
    )


def _uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def payments_for_reference(*, reference: str) -> list[PaymentInfo]:
    """Every attempt to pay ``reference``, oldest first."""
    return [payment_info(p) for p in Payment.objects.filter(reference=reference).order_by("created_at")]


def payment_get(*, payment_id: uuid.UUID | str) -> PaymentInfo | None:
    pk = _uuid(payment_id)
    payment = Payment.objects.filter(pk=pk).first() if pk else None
    return payment_info(payment) if payment else None


def payment_for_key(*, idempotency_key: str) -> PaymentInfo | None:
    """The payment made under ``idempotency_key``, if any."""
    payment = Payment.objects.filter(idempotency_key=idempotency_key).first()
    return payment_info(payment) if payment else None


def refunds_for_payment(*, payment_id: uuid.UUID | str) -> list[RefundInfo]:
    pk = _uuid(payment_id)
    return [refund_info(r) for r in Refund.objects.filter(payment_id=pk).order_by("created_at")] if pk else []


def payment_methods_for_user(*, user_id: str | uuid.UUID) -> list[PaymentMethodInfo]:
    pk = _uuid(user_id)
    if pk is None:
        return []
    methods = SavedPaymentMethod.objects.filter(user_id=pk).order_by("-created_at")  # newest card first
    return [payment_method_info(m) for m in methods]


def payment_list_for_customer(*, user_id: str | uuid.UUID, reference: str | None = None) -> QuerySet[Payment]:
    """The payments a customer may see (those recorded with their user id), newest first."""
    pk = _uuid(user_id)
    payments = Payment.objects.filter(customer_id=pk) if pk else Payment.objects.none()
    if reference:
        payments = payments.filter(reference=reference)
    return payments.prefetch_related(Prefetch("refunds", queryset=Refund.objects.order_by("-created_at"))).order_by(
        "-created_at"
    )


def payment_history(*, payment_id: uuid.UUID | str) -> list[HistoryEntry]:
    """The payment's transitions and notes (refund steps, chargebacks that left its state), oldest first;
    each entry's ``columns["amount_minor"]`` says how much."""
    pk = _uuid(payment_id)
    payment = Payment.objects.filter(pk=pk).first() if pk else None
    return history(payment) if payment else []


def refunds_for_staff(*, status: str = "", reference: str = "") -> QuerySet[Refund]:
    """Every refund, newest first, for the staff API (``status="pending_approval"``: Finance's queue)."""
    refunds = Refund.objects.select_related("payment").order_by("-created_at", "-id")
    if status:
        refunds = refunds.filter(status=status)
    if reference:
        refunds = refunds.filter(payment__reference=reference)
    return refunds


def payment_to_refund_for_order(*, order_number: str) -> Payment | None:
    """The order's captured payment with the most left to refund (None: nothing captured to refund)."""
    candidates = Payment.objects.filter(reference=f"order:{order_number}", captured_minor__gt=0).order_by("-created_at")
    best = max(candidates, key=lambda p: p.refundable_minor, default=None)
    return best if best is not None and best.refundable_minor > 0 else None
