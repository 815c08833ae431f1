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
