"""Tables of the notifications app: used by this app only (other apps go through services/selectors)."""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from flowmart.staff.change_log import track_changes
from flowmart.transitions import TransitionLog
from notifications.kinds import KINDS, Category, Channel


class Notification(FSMModelMixin, models.Model):
    """One message to one recipient on one channel, and what became of it (docs/architecture.md §Lifecycles)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed (opted out)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # event + kind + recipient + channel: the same event never reaches the same person twice on one channel.
    dedupe_key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=60, db_index=True)
    category = models.CharField(max_length=30, choices=Category.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    to_address = models.CharField(max_length=255, blank=True, help_text="Email address or phone number")
    context = models.JSONField(default=dict, encoder=DjangoJSONEncoder, blank=True)
    template = models.CharField(max_length=120, blank=True, help_text="The template the message was rendered from")
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)

    status = FSMField(default=Status.QUEUED, choices=Status.choices, protected=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    error = models.TextField(blank=True)

    event_id = models.UUIDField(null=True, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    resent_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends")

    # A worker holds the message while it talks to the provider; a crash frees it when the lease ends.
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Staff roles (docs/staff.md §Roles): one permission per staff action.
        permissions = [
            ("resend_notification", "Resend notifications"),
        ]
        indexes = [models.Index(fields=["recipient", "-created_at"], name="notif_recipient_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_address or self.recipient_id} [{self.channel}, {self.status}]"

    @property
    def kind_label(self) -> str:
        """What the message is about, in words (a suppressed message was never rendered: no subject or text)."""
        kind = KINDS.get(self.kind)
        return kind.label if kind is not None else self.kind

    # -- transitions (recorded by services.notification_transition) -----------
    @transition(field=status, source=Status.QUEUED, target=Status.SENT)
    def mark_sent(self) -> None:
        pass

    @transition(field=status, source=[Status.SENT, Status.QUEUED], target=Status.DELIVERED)
    def mark_delivered(self) -> None:
        pass

    @transition(field=status, source=[Status.QUEUED, Status.SENT], target=Status.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=status, source=Status.FAILED, target=Status.QUEUED)
    def retry(self) -> None:
        pass

    @transition(field=status, source=Status.QUEUED, target=Status.SUPPRESSED)
    def suppress(self) -> None:
        pass


class NotificationTransition(TransitionLog):
    """Who moved a notification from which state to which, when and why."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="transitions")


@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class NotificationTemplate(models.Model):
    """A staff-written override of the default template of one kind on one channel."""

    kind = models.CharField(max_length=60)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(
        max_length=300, blank=True, help_text="Email subject or push title (Django template syntax)"
    )
    body_text = models.TextField(help_text="Plain-text email body, SMS text or push body (Django template syntax)")
    body_html = models.TextField(blank=True, help_text="HTML email body (email only; empty: plain text only)")
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "channel"], name="notif_template_once")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.channel})"


class Preference(models.Model):
    """A customer's choice for one category on one channel (absent: the category's default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    category = models.CharField(max_length=30, choices=Category.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category", "channel"], name="notif_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}/{self.channel}={self.enabled}"


class EmailOptOut(models.Model):
    """An unsubscribe by an address without an account (guest checkout)."""

    email = models.EmailField()
    category = models.CharField(max_length=30, choices=Category.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["email", "category"], name="notif_optout_once")]

    def __str__(self) -> str:
        return f"{self.email} opted out of {self.category}"


class Device(models.Model):
    """A push token of one of a customer's devices."""

    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    token = models.CharField(max_length=512, unique=True)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.platform} device of {self.user_id}"


class SandboxMessage(models.Model):
    """What the sandbox SMS / push backends would have sent: the development outbox."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    to = models.CharField(max_length=512)
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    provider_message_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}"


class Feedback(models.Model):
    """A request to rate a delivered order, and the customer's answer (1–5 and a comment)."""

    order_number = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField()
    due_at = models.DateTimeField(db_index=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)  # CSAT by period
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="notif_feedback_rating_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_number}: {self.rating or '–'}"


class BackInStockRequest(models.Model):
    """A customer asked to be told once when a sold-out SKU can be bought again (docs/notifications.md).

    Signed-in customers are confirmed at once (their account); an address is confirmed through a signed
    link and is never told before. Requests are told in the order they were made (``requested_at``, ``id``),
    at most as many per return to stock as came back; the one that is told is done (``notified_at``).
    """

    sku = models.CharField(max_length=64, db_index=True)  # inventory's SKU (a reference, not a foreign key)
    product_name = models.CharField(max_length=200)
    product_slug = models.CharField(max_length=220)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="back_in_stock_requests"
    )
    email = models.EmailField(help_text="The account's address, or the guest's (confirmed by link)")
    requested_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # The BackInStock event whose batch told this request ("" when told at confirmation: it was in stock).
    notified_by_event = models.CharField(max_length=64, blank=True, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)

    class Meta:
        # No implicit ordering (tests/kernel/test_no_implicit_ordering.py): the queue's order is always spelled out.
        indexes = [models.Index(fields=["sku", "requested_at", "id"], name="notif_bis_queue")]
        constraints = [
            # One open request per person and SKU: asking twice keeps the first place in the queue.
            models.UniqueConstraint(
                fields=["sku", "user"],
                condition=models.Q(notified_at__isnull=True, user__isnull=False),
                name="notif_bis_one_open_per_user",
            ),
            models.UniqueConstraint(
                models.F("sku"),
                models.functions.Lower("email"),
                condition=models.Q(notified_at__isnull=True, user__isnull=True),
                name="notif_bis_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} for {self.email}"

    @property
    def state(self) -> str:
        if self.notified_at is not None:
            return "notified"
        return "waiting" if self.confirmed_at is not None else "unconfirmed"
