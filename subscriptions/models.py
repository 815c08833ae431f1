"""Tables of the subscriptions app: used by this app only (other apps go through services/selectors).

Lifecycles (docs/architecture.md §Lifecycles), each an ``FSMField(protected=True)`` whose only
way to change is a transition method; services record every transition in
``SubscriptionTransition`` / ``InvoiceTransition`` (who, when, from, to, why).

Subscription::

    incomplete ──activate──▶ active ◀──renew── trialing
        │                      │  ▲ ▲             │
        └──expire──▶ expired   │  │ └─renew── past_due ◀─mark_past_due─ (trialing | active)
                               │  └──resume── paused ◀──pause── active
    (trialing | active | past_due | paused) ──cancel──▶ cancelled

``incomplete`` is the short moment between "subscribe without a trial" and the
first charge's answer; a declined first charge ends in ``expired``.

Invoice: draft ──finalize──▶ open ──pay──▶ paid / ──mark_uncollectible──▶ uncollectible / ──void──▶ void.
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from flowmart.notes import NoteLog
from flowmart.staff.change_log import track_changes
from flowmart.transitions import TransitionLog


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Tier(models.Model):
    """A membership level and the perks it gives (FlowMart Plus, ...)."""

    name = models.CharField(max_length=80, unique=True)
    rank = models.PositiveSmallIntegerField(default=1, help_text="Higher rank = higher tier (upgrade vs downgrade).")
    free_shipping = models.BooleanField(default=False)
    percent_off = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Member discount on eligible lines, in percent."
    )
    early_access = models.BooleanField(default=False)
    description = models.TextField(blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(percent_off__lte=100), name="subs_tier_percent_off_le_100")]

    def __str__(self) -> str:
        return self.name


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Plan(models.Model):
    """What a customer subscribes to: a tier at a price per billing interval."""

    class Interval(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        YEARLY = "yearly", "Yearly"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(
        max_length=60, unique=True, help_text="Stable identifier used by the API, e.g. plus-monthly."
    )
    name = models.CharField(max_length=120)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="plans")
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTHLY)
    price_minor = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    currency = models.CharField(max_length=3, default="USD")
    trial_days = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text="Inactive plans cannot be chosen any more.")
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(price_minor__gte=1), name="subs_plan_price_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_interval_display().lower()})"


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "Incomplete"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


S = SubscriptionStatus
LIVE_STATUSES = [S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED]
PERK_STATUSES = [S.TRIALING, S.ACTIVE, S.PAST_DUE]


class Subscription(FSMModelMixin, models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = FSMField(max_length=12, choices=SubscriptionStatus.choices, default=S.INCOMPLETE, protected=True)

    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(db_index=True)
    # Day of month renewals fall on (clamped to short months); set when a period (re)starts.
    billing_anchor_day = models.PositiveSmallIntegerField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)

    payment_method = models.CharField(max_length=200, help_text="Saved gateway token charged on renewal.")
    payment_method_label = models.CharField(max_length=60, blank=True, help_text="e.g. visa •••• 4242")
    credit_minor = models.PositiveIntegerField(
        default=0, help_text="Credit from downgrades, applied to the next invoice."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("manage_subscription", "Pause, resume, cancel or expire memberships"),
        ]
        constraints = [
            # One live subscription per customer: a double submit cannot create two.
            models.UniqueConstraint(
                fields=["user"], condition=Q(status__in=LIVE_STATUSES), name="subs_one_live_subscription_per_user"
            )
        ]
        indexes = [models.Index(fields=["status", "current_period_end"], name="subs_due_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.plan.code} [{self.status}]"

    @property
    def correlation_id(self) -> str:
        return f"sub:{self.public_id}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def has_perks(self) -> bool:
        return self.status in PERK_STATUSES

    # -- transitions ---------------------------------------------------------
    @transition(field=status, source=S.INCOMPLETE, target=S.ACTIVE)
    def activate(self) -> None:
        """The first charge went through."""

    @transition(field=status, source=[S.TRIALING, S.ACTIVE, S.PAST_DUE], target=S.ACTIVE)
    def renew(self) -> None:
        """A period's invoice was paid: the next period starts."""

    @transition(field=status, source=[S.TRIALING, S.ACTIVE, S.PAST_DUE], target=S.PAST_DUE)
    def mark_past_due(self) -> None:
        """A renewal charge failed: dunning retries on schedule."""

    @transition(field=status, source=S.ACTIVE, target=S.PAUSED)
    def pause(self) -> None:
        pass

    @transition(field=status, source=S.PAUSED, target=S.ACTIVE)
    def resume(self) -> None:
        pass

    @transition(field=status, source=[S.TRIALING, S.ACTIVE, S.PAST_DUE, S.PAUSED], target=S.CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=status, source=[S.INCOMPLETE, S.TRIALING], target=S.EXPIRED)
    def expire(self) -> None:
        pass


class SubscriptionTransition(TransitionLog):
    """The audit trail: every change of a subscription's state."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="transitions")


class SubscriptionNote(NoteLog):
    """What changed without a change of state: the plan, the card, a cancellation scheduled or withdrawn."""

    class Kind(models.TextChoices):
        CHANGE_PLAN = "change_plan", "Plan changed"
        UPDATE_PAYMENT_METHOD = "update_payment_method", "Payment method updated"
        SCHEDULE_CANCEL = "schedule_cancel", "Cancellation scheduled"
        KEEP = "keep", "Scheduled cancellation withdrawn"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=40, choices=Kind.choices)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"
    VOID = "void", "Void"


class Invoice(FSMModelMixin, models.Model):
    """What a customer owes for one billing period (or a plan change)."""

    class Reason(models.TextChoices):
        CREATE = "subscription_create", "First period"
        CYCLE = "subscription_cycle", "Renewal"
        PLAN_CHANGE = "plan_change", "Plan change"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=32, unique=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="invoices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    billing_reason = models.CharField(max_length=24, choices=Reason.choices, default=Reason.CYCLE)
    status = FSMField(max_length=14, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, protected=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    subtotal_minor = models.IntegerField(default=0)
    credit_applied_minor = models.PositiveIntegerField(default=0)
    amount_minor = models.PositiveIntegerField(help_text="Amount due = subtotal - credit applied.")
    currency = models.CharField(max_length=3)
    customer_email = models.EmailField()

    payment_attempts = models.PositiveSmallIntegerField(default=0, help_text="Declined charge attempts (dunning).")
    charge_attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text="Charge calls whose answer was recorded (declines and gateway outages): keys the next call.",
    )
    next_payment_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    first_failed_at = models.DateTimeField(null=True, blank=True)
    last_decline_code = models.CharField(max_length=60, blank=True)
    payment_id = models.UUIDField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Never bill twice for the same period, whoever runs the billing and however often.
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=~Q(billing_reason="plan_change"),
                name="subs_one_invoice_per_period",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def payment_reference(self) -> str:
        return f"invoice:{self.number}"

    @property
    def idempotency_key(self) -> str:
        """One key per invoice and attempt. The attempt number moves on only once an answer is recorded,
        so a re-run after a crash sends the same key again and the gateway replays its first answer."""
        return f"invoice-{self.number}-attempt-{self.charge_attempts + 1}"

    @transition(field=status, source=InvoiceStatus.DRAFT, target=InvoiceStatus.OPEN)
    def finalize(self) -> None:
        pass

    @transition(field=status, source=InvoiceStatus.OPEN, target=InvoiceStatus.PAID)
    def pay(self) -> None:
        pass

    @transition(field=status, source=InvoiceStatus.OPEN, target=InvoiceStatus.UNCOLLECTIBLE)
    def mark_uncollectible(self) -> None:
        pass

    @transition(field=status, source=[InvoiceStatus.DRAFT, InvoiceStatus.OPEN], target=InvoiceStatus.VOID)
    def void(self) -> None:
        pass


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=200)
    amount_minor = models.IntegerField(help_text="Negative for credits.")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        # A document's lines are read in the order they were written, everywhere (pages, API, event payloads).
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description


class InvoiceTransition(TransitionLog):
    """The invoice's state log."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="transitions")


class DunningInvoice(Invoice):
    """Staff screen: open invoices whose charge failed and that dunning is retrying."""

    class Meta:
        proxy = True
        verbose_name = "dunning invoice"
        verbose_name_plural = "dunning list"
