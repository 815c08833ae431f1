"""Tables of the payments app: used by this app only (other apps go through services/selectors).

No table here holds a card number or a CVC: a payment method is the gateway's
token plus display data (brand, last 4, expiry).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from flowmart.notes import NoteLog
from flowmart.transitions import TransitionLog


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    FAILED = "failed", "Failed"
    VOIDED = "voided", "Voided"
    DISPUTED = "disputed", "Disputed"
    CHARGEBACK_WON = "chargeback_won", "Chargeback won"
    CHARGEBACK_LOST = "chargeback_lost", "Chargeback lost"
    # The gateway dropped the authorization before we captured it (Stripe: about seven days).
    EXPIRED = "expired", "Authorization expired"


REFUNDABLE_STATES = [PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED]


class Payment(FSMModelMixin, models.Model):
    """FlowMart's record of one payment for a reference (``order:FM-…``, ``invoice:…``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=100, db_index=True)
    correlation_id = models.CharField(max_length=100, db_index=True)
    # The customer who may see this payment (User.public_id); payments knows nothing else about orders.
    customer_id = models.UUIDField(null=True, blank=True, db_index=True)
    customer_email = models.EmailField(blank=True)
    status = FSMField(default=PaymentStatus.PENDING, choices=PaymentStatus.choices, protected=True, db_index=True)
    amount_minor = models.PositiveBigIntegerField(help_text="Amount authorized (requested)")
    captured_minor = models.PositiveBigIntegerField(default=0)
    refunded_minor = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=20)
    gateway_ref = models.CharField(max_length=100, blank=True, db_index=True, help_text="Charge / PaymentIntent id")
    payment_method = models.CharField(max_length=100, help_text="Gateway token, never a card number")
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    decline_code = models.CharField(max_length=50, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    # Set when the payer stopped waiting (its order was cancelled or failed) while the payment was pending: from
    # then on it is never authorized, and whatever the gateway holds for it is voided (``payment_abandon``).
    abandoned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("capture_payment", "Capture payments"),
            ("void_payment", "Void authorizations"),
            ("refund_payment", "Refund payments"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(captured_minor__lte=models.F("amount_minor")), name="payments_capture_le_amount"
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_minor__lte=models.F("captured_minor")), name="payments_refund_le_captured"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_minor} {self.currency} [{self.status}]"

    # -- transitions (the only way to change ``status``) ----------------------
    @transition(field=status, source=PaymentStatus.PENDING, target=PaymentStatus.AUTHORIZED)
    def authorize(self, *, gateway_ref: str, brand: str, last4: str) -> None:
        self.gateway_ref = gateway_ref
        self.brand = brand
        self.last4 = last4

    @transition(field=status, source=PaymentStatus.PENDING, target=PaymentStatus.FAILED)
    def fail(self, *, decline_code: str, message: str, gateway_ref: str = "") -> None:
        self.decline_code = decline_code
        self.failure_message = message[:255]
        if gateway_ref:
            self.gateway_ref = gateway_ref

    @transition(field=status, source=PaymentStatus.AUTHORIZED, target=PaymentStatus.CAPTURED)
    def capture(self, *, amount_minor: int) -> None:
        self.captured_minor = amount_minor

    @transition(field=status, source=PaymentStatus.AUTHORIZED, target=PaymentStatus.VOIDED)
    def void(self) -> None:
        pass

    @transition(field=status, source=PaymentStatus.AUTHORIZED, target=PaymentStatus.EXPIRED)
    def expire(self) -> None:
        pass

    @transition(
        field=status,
        source=REFUNDABLE_STATES,
        target=RETURN_VALUE(PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED),
    )
    def refund(self, *, amount_minor: int) -> str:
        self.refunded_minor += amount_minor
        if self.refunded_minor >= self.captured_minor:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED

    @transition(field=status, source=REFUNDABLE_STATES, target=PaymentStatus.DISPUTED)
    def open_dispute(self) -> None:
        pass

    @transition(field=status, source=PaymentStatus.DISPUTED, target=PaymentStatus.CHARGEBACK_WON)
    def win_dispute(self) -> None:
        pass

    @transition(field=status, source=PaymentStatus.DISPUTED, target=PaymentStatus.CHARGEBACK_LOST)
    def lose_dispute(self) -> None:
        pass

    @property
    def refundable_minor(self) -> int:
        return self.captured_minor - self.refunded_minor


class PaymentTransition(TransitionLog):
    """Every change of a payment's state (who, when, from, to, why, how much)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="transitions")
    amount_minor = models.BigIntegerField(null=True, blank=True)


class PaymentNote(NoteLog):
    """A notable step that leaves the payment's state as it is: a refund asked for, decided, failed, or
    booked on a disputed payment; a chargeback on a payment that cannot move (who, when, why, how much)."""

    class Kind(models.TextChoices):
        REFUND_REQUESTED = "refund_requested", "Refund requested"
        REFUND_APPROVED = "refund_approved", "Refund approved"
        REFUND_REJECTED = "refund_rejected", "Refund rejected"
        REFUND_FAILED = "refund_failed", "Refund failed"
        REFUNDED = "refunded", "Refunded"
        CHARGEBACK_OPENED = "chargeback_opened", "Chargeback opened"
        CHARGEBACK_RESOLVED = "chargeback_resolved", "Chargeback resolved"
        ABANDONED = "abandoned", "Abandoned by its payer"
        LATE_AUTHORIZATION_VOIDED = "late_authorization_voided", "Late authorization voided"
        DISPUTE_EVIDENCE_SUBMITTED = "dispute_evidence_submitted", "Dispute evidence submitted"
        DISPUTE_EVIDENCE_FAILED = "dispute_evidence_failed", "Dispute evidence refused"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    amount_minor = models.BigIntegerField(null=True, blank=True)


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for Finance approval"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    # Statuses whose amount counts against what is still refundable.
    RESERVING = (Status.PENDING_APPROVAL, Status.PROCESSING, Status.SUCCEEDED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    gateway_ref = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("approve_refund", "Approve or reject refunds above the threshold"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="payments_refund_positive")]

    def __str__(self) -> str:
        return f"Refund {self.amount_minor} {self.currency} of {self.payment.reference} [{self.status}]"


class PendingRefund(Refund):
    """Proxy: the Finance approval queue in the admin."""

    class Meta:
        proxy = True
        verbose_name = "refund awaiting approval"
        verbose_name_plural = "refund approval queue"


class Dispute(models.Model):
    """A chargeback. The disputed amount (and the gateway's fee) left our balance when it opened; a won dispute
    reinstates both, a lost one leaves them gone: ``loss_minor`` + ``fee_minor`` is what it cost us."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class EvidenceStatus(models.TextChoices):
        NONE = "", "Not submitted"
        SUBMITTING = "submitting", "Being sent to the gateway"
        SUBMITTED = "submitted", "Submitted"
        FAILED = "failed", "Refused or not answered (may be sent again)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    gateway_ref = models.CharField(max_length=100, unique=True)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    # The gateway's dispute fee still charged to us (withdrawn at opening, given back with a win at most gateways).
    fee_minor = models.BigIntegerField(default=0)
    # What a lost dispute took from us for good (the disputed amount); 0 while open or when won.
    loss_minor = models.BigIntegerField(default=0)
    evidence_text = models.TextField(blank=True)
    evidence_file_description = models.CharField(max_length=500, blank=True)
    evidence_status = models.CharField(max_length=12, choices=EvidenceStatus.choices, blank=True, default="")
    evidence_attempt = models.PositiveSmallIntegerField(default=0, help_text="Part of the gateway idempotency key")
    evidence_error = models.CharField(max_length=255, blank=True)
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    evidence_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Dispute {self.gateway_ref} on {self.payment.reference} [{self.status}]"


class PaymentMovement(models.Model):
    """One movement of money on a payment, dated when it happened: what reconciliation compares day by day.

    ``amount_minor`` is signed from FlowMart's side (a capture or a reinstatement brings money in, a refund or
    a dispute withdrawal takes it out); ``fee_minor`` is what the gateway charged for it (negative: given back).
    Written in the same transaction as the payment's transition it belongs to."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Capture"
        REFUND = "refund", "Refund"
        DISPUTE_WITHDRAWAL = "dispute_withdrawal", "Dispute: funds withdrawn"
        DISPUTE_REINSTATEMENT = "dispute_reinstatement", "Dispute won: funds reinstated"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    source_ref = models.CharField(max_length=100, blank=True, help_text="Refund / dispute id at the gateway")
    happened_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency} on {self.payment_id}"


class WebhookEvent(models.Model):
    """One gateway webhook, unique by (gateway, event id): processed once however often it arrives."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=100)
    signature = models.CharField(max_length=500, help_text="The signature header it arrived with (replay detection)")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True)
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="payments_webhook_once")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.type} {self.event_id}"


class SavedPaymentMethod(models.Model):
    """A customer's saved card: the gateway token plus what we show (never the number)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(db_index=True, help_text="User.public_id")
    gateway = models.CharField(max_length=20)
    token = models.CharField(max_length=100)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "token"], name="payments_method_once_per_user")]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class ReconciliationReport(models.Model):
    """One run of the daily comparison: what the gateway says versus what FlowMart recorded."""

    gateway = models.CharField(max_length=20)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    gateway_charges = models.PositiveIntegerField(default=0)
    flowmart_payments = models.PositiveIntegerField(default=0)
    mismatch_count = models.PositiveIntegerField(default=0)
    gateway_movements = models.PositiveIntegerField(default=0)
    flowmart_movements = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.gateway} {self.period_start:%Y-%m-%d}: {self.mismatch_count} mismatches"


class ReconciliationMismatch(models.Model):
    class Kind(models.TextChoices):
        MISSING_IN_FLOWMART = "missing_in_flowmart", "At the gateway, not in FlowMart"
        MISSING_AT_GATEWAY = "missing_at_gateway", "In FlowMart, not at the gateway"
        STATUS = "status", "Status differs"
        CAPTURED = "captured", "Captured amount differs"
        REFUNDED = "refunded", "Refunded amount differs"
        MOVEMENT = "movement", "Money moved differently that day"

    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="mismatches")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    gateway_ref = models.CharField(max_length=100, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flowmart_value = models.CharField(max_length=100, blank=True)
    gateway_value = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.gateway_ref}"


class StrayAuthorization(models.Model):
    """An authorization the gateway held that no authorized payment explained, found and voided by the sweep
    (``payments_stray_authorizations_void``): shown to staff so someone can ask why it happened."""

    class Status(models.TextChoices):
        VOIDED = "voided", "Voided"
        VOID_FAILED = "void_failed", "Void failed (retried by the next sweep)"

    gateway = models.CharField(max_length=20)
    gateway_ref = models.CharField(max_length=100, help_text="Charge / PaymentIntent id")
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=100, blank=True, help_text="From the charge's metadata, if any")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payment_status = models.CharField(max_length=20, blank=True, help_text="Our payment's status when found")
    status = models.CharField(max_length=20, choices=Status.choices)
    error = models.CharField(max_length=255, blank=True)
    held_since = models.DateTimeField(null=True, blank=True)
    found_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "gateway_ref"], name="payments_stray_once")]

    def __str__(self) -> str:
        return f"stray {self.gateway} {self.gateway_ref} [{self.status}]"


# -- The sandbox gateway's own books ---------------------------------------------------------
# These tables play the card processor's side: they are written only by payments/gateways/sandbox.py,
# so "the gateway" and FlowMart's Payment rows can disagree (and reconciliation can tell).


class SandboxCharge(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    payment_method = models.CharField(max_length=100)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)  # authorized | captured | voided
    captured_minor = models.PositiveBigIntegerField(default=0)
    refunded_minor = models.PositiveBigIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="What the caller attached, like Stripe's")
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.id} [{self.status}]"


class SandboxRequest(models.Model):
    """The sandbox's idempotency store: same key, same answer; money moves once."""

    idempotency_key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=20)
    fingerprint = models.CharField(max_length=64)
    response = models.JSONField()
    timeouts_served = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.operation} {self.idempotency_key}"


class SandboxMovement(models.Model):
    """The sandbox's balance transactions (Stripe's ``balance_transaction``): every movement, dated."""

    id = models.CharField(primary_key=True, max_length=40)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(max_length=30)  # the PaymentMovement kinds
    amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField(default=0)
    source_ref = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.id} {self.kind} {self.amount_minor}"


class SandboxDispute(models.Model):
    """The sandbox card network's view of a dispute: evidence received, and when the bank decides."""

    id = models.CharField(primary_key=True, max_length=40)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="disputes")
    amount_minor = models.PositiveBigIntegerField()
    fee_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20)  # needs_response | under_review | won | lost
    evidence = models.JSONField(default=dict, blank=True)
    decide_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.id} [{self.status}]"
