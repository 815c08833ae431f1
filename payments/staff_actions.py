"""What staff may do to payments and refunds (docs/staff.md §Staff actions): capture, void and refund a
payment; approve or reject a refund waiting above the threshold (a second person: the service refuses the one
who asked for it)."""

from __future__ import annotations

from django import forms

from flowmart.staff.actions import StaffAction, staff_action_declare
from payments import services
from payments.forms import CaptureForm, DisputeEvidenceForm, RefundForm, VoidForm
from payments.models import Dispute, Payment, Refund

PAYMENT_AUDIT_FIELDS = ("status", "captured_minor", "refunded_minor")
REFUND_AUDIT_FIELDS = ("status", "amount_minor", "decided_by_id", "decision_note")


class DecisionForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False, help_text="Kept with the refund (decision note)")


def _transition_open(payment: Payment, name: str) -> bool:
    return any(t.name == name for t in payment.get_available_status_transitions())


def _payment(**kwargs) -> StaffAction:
    return staff_action_declare(StaffAction(model=Payment, audit_fields=PAYMENT_AUDIT_FIELDS, **kwargs))


def _refund(**kwargs) -> StaffAction:
    return staff_action_declare(StaffAction(model=Refund, audit_fields=REFUND_AUDIT_FIELDS, **kwargs))


CAPTURE = _payment(
    name="payments.payment.capture",
    label="Capture",
    permission="payments.capture_payment",
    offered=lambda p: _transition_open(p, "capture"),
    form=CaptureForm,
    initial=lambda p: {"amount_minor": p.amount_minor},
    run=lambda p, *, by, reason, data: services.payment_capture(
        payment_id=p.pk, amount_minor=data.get("amount_minor"), by=by
    ),
)
VOID = _payment(
    name="payments.payment.void",
    label="Void",
    permission="payments.void_payment",
    offered=lambda p: _transition_open(p, "void"),
    form=VoidForm,
    run=lambda p, *, by, reason, data: services.payment_void(payment_id=p.pk, reason=reason, by=by),
)
REFUND = _payment(
    name="payments.payment.refund",
    label="Refund",
    permission="payments.refund_payment",
    offered=lambda p: _transition_open(p, "refund"),
    form=RefundForm,
    initial=lambda p: {"amount_minor": p.refundable_minor},
    done_message=lambda refund: (
        "The refund is above the approval threshold: it waits for Finance."
        if refund.status == Refund.Status.PENDING_APPROVAL
        else f"Refund {refund.status}."
    ),
    run=lambda p, *, by, reason, data: services.payment_refund(
        payment_id=p.pk,
        amount_minor=data["amount_minor"],
        reason=reason,
        requested_by=by,
        idempotency_key=data["idempotency_key"],
    ),
)
APPROVE = _refund(
    name="payments.refund.approve",
    label="Approve refund",
    permission="payments.approve_refund",
    offered=lambda r: r.status == Refund.Status.PENDING_APPROVAL,
    form=DecisionForm,
    bulk=True,
    run=lambda r, *, by, reason, data: services.refund_approve(refund_id=r.pk, by=by, note=reason),
)
REJECT = _refund(
    name="payments.refund.reject",
    label="Reject refund",
    permission="payments.approve_refund",
    offered=lambda r: r.status == Refund.Status.PENDING_APPROVAL,
    form=DecisionForm,
    bulk=True,
    run=lambda r, *, by, reason, data: services.refund_reject(refund_id=r.pk, by=by, note=reason),
)

DISPUTE_EVIDENCE = staff_action_declare(
    StaffAction(
        name="payments.dispute.submit_evidence",
        label="Submit evidence to the bank",
        permission="payments.view_dispute",  # Finance's (docs/staff.md): the service checks the dispute is open
        model=Dispute,
        audit_fields=("status", "evidence_status"),
        offered=lambda d: (
            d.status == Dispute.Status.OPEN
            and d.evidence_status in (Dispute.EvidenceStatus.NONE, Dispute.EvidenceStatus.FAILED)
        ),
        form=DisputeEvidenceForm,
        run=lambda d, *, by, reason, data: services.dispute_evidence_submit(
            dispute_id=d.pk, text=data["text"], file_description=data["file_description"], by=by
        ),
    )
)
