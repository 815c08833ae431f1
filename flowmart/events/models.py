from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class OutboxEvent(models.Model):
    """One published event, written in the transaction that made the change (transactional outbox)."""

    event_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    producer = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    correlation_id = models.CharField(max_length=100, db_index=True)
    causation_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once a Delivery row exists for every subscribed handler and their tasks were sent.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # When its dispatch task was last sent (cleared when a send failed): the redelivery sweep leaves a row
    # alone while this is younger than EVENTS_REDELIVER_AFTER_SECONDS, so what waits in the queue is not
    # queued again.
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["correlation_id", "occurred_at"], name="events_timeline_idx"),
            models.Index(
                fields=["created_at"], name="events_undispatched_idx", condition=models.Q(dispatched_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.event_id} ({self.correlation_id})"


class Delivery(models.Model):
    """One event delivered to one handler: the inbox row that makes handlers idempotent.

    Unique per (event, handler): a redelivered event finds its row already
    ``succeeded`` and does nothing. Failures retry with back-off; after the
    last attempt the row is ``dead`` (a dead letter) until staff retry it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYING = "retrying", "Retrying"
        DEAD = "dead", "Dead letter"

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When its task was last sent, or is due (a retry's countdown); cleared when a send failed (see OutboxEvent).
    queued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="events_delivery_once")]

    def __str__(self) -> str:
        return f"{self.event.name} → {self.handler} [{self.status}]"


class DeadLetter(Delivery):
    """Proxy so staff get a screen of just the deliveries that gave up."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"


class Command(models.Model):
    """Follow-up work (a Celery task by name and keyword arguments) written in the transaction that made it
    necessary, usually an event handler's: the outbox of commands.

    The task is sent after commit; if the broker is down then, or the message is lost, the redelivery sweep
    sends it again. A run claims the row (``claimed_until``) so two copies never run at once, and marks it
    ``succeeded`` when the task returned: a duplicate message finds it done. Failures retry with back-off;
    after ``EVENTS_COMMAND_MAX_ATTEMPTS`` the row is ``dead`` until staff retry it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYING = "retrying", "Retrying"
        DEAD = "dead", "Dead"

    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # A run holds the row until then; a run that died (worker killed) frees it when this passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="events_command_open_idx",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.status}]"


# A command not done yet: waiting to run, running, or waiting to retry.
COMMANDS_OPEN = (Command.Status.PENDING, Command.Status.RETRYING)
