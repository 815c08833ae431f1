"""One note log for every aggregate: something that happened to it without changing its state (an order
amended, a refund requested, a membership's plan changed): who, when, in which state, what.

Notes are not transitions: a transition log row always moves from one state to another. Each app subclasses
``NoteLog`` with the foreign key to its aggregate, always ``related_name="notes"``; ``note_add`` writes one
inside the caller's transaction. ``flowmart.history`` reads both logs as one history.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from flowmart.transitions import REASON_MAX_LENGTH, actor_of, state_of


class NoteLog(models.Model):
    """Abstract: one row per note (subclasses may narrow ``kind`` with choices)."""

    kind = models.CharField(max_length=40, help_text="what happened, in a word or two")
    state = models.CharField(max_length=32, help_text="the state it was in when this happened")
    actor = models.CharField(max_length=32, default="system", help_text="system, customer, staff or carrier")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.kind} ({self.state})"


def note_add(
    instance: models.Model,
    *,
    kind: str,
    actor: str | None = None,
    by=None,
    text: str = "",
    at: datetime | None = None,
    **columns,
) -> NoteLog:
    """Write a note on ``instance`` in its current state (inside the caller's transaction).

    ``actor`` defaults to what ``by`` is (no user: system). ``columns`` fill the app's own extra columns
    (payments: ``amount_minor``).
    """
    user = by if getattr(by, "pk", None) is not None else None  # anonymous users are nobody
    log = instance.notes  # every note log's foreign key says related_name="notes"
    return log.model.objects.create(
        **{log.field.name: instance},
        kind=kind,
        state=state_of(instance),
        actor=actor_of(user, actor),
        by=user,
        text=text[:REASON_MAX_LENGTH],
        at=at or timezone.now(),
        **columns,
    )
