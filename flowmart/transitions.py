"""One transition log for every state machine: who moved what, when, from which state to which, and why.

Each app subclasses ``TransitionLog`` with the foreign key to its aggregate, named by the app and always
``related_name="transitions"``; ``transition_apply`` runs a django-fsm transition and writes the row.
Both run inside the caller's transaction (the caller holds the row lock).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import FSMFieldMixin

REASON_MAX_LENGTH = 500


class TransitionLog(models.Model):
    """Abstract: one row per state change (``from_state`` is empty for the row that records creation)."""

    transition = models.CharField(max_length=40, blank=True, help_text="the transition method's name")
    from_state = models.CharField(max_length=32)
    to_state = models.CharField(max_length=32)
    actor = models.CharField(max_length=32, default="system", help_text="system, customer, staff or carrier")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.transition or 'state'}: {self.from_state} → {self.to_state}"


def state_of(instance: models.Model) -> str:
    """The value of the instance's (only) FSM field."""
    fields = [f for f in instance._meta.concrete_fields if isinstance(f, FSMFieldMixin)]
    if len(fields) != 1:
        raise TypeError(f"{type(instance).__name__} must have exactly one FSM field, has {len(fields)}")
    return getattr(instance, fields[0].attname)


def actor_of(by, actor: str | None) -> str:
    """Who acted: ``actor`` if given, else what ``by`` is (no user: system; staff; customer)."""
    if actor:
        return actor
    if by is None:
        return "system"
    return "staff" if getattr(by, "is_staff", False) else "customer"


def transition_record(
    instance: models.Model,
    *,
    from_state: str,
    transition: str = "",
    actor: str | None = None,
    by=None,
    reason: str = "",
    at: datetime | None = None,
    save: bool = True,
    **columns,
) -> TransitionLog:
    """Write the log row of a change already made to ``instance`` (or of its creation, ``from_state=""``).

    ``actor`` defaults to what ``by`` is (no user: system). ``columns`` fill the app's own extra columns
    (payments: ``amount_minor``). ``save=False`` returns the row unsaved, for the batch callers that
    ``bulk_create`` many rows at once.
    """
    user = by if getattr(by, "pk", None) is not None else None  # anonymous users are nobody
    log = instance.transitions  # every log's foreign key says related_name="transitions"
    row = log.model(
        **{log.field.name: instance},
        transition=transition,
        from_state=from_state,
        to_state=state_of(instance),
        actor=actor_of(user, actor),
        by=user,
        reason=reason[:REASON_MAX_LENGTH],
        at=at or timezone.now(),
        **columns,
    )
    if save:
        row.save()
    return row


def transition_apply(
    instance: models.Model,
    name: str,
    *,
    actor: str | None = None,
    by=None,
    reason: str = "",
    at: datetime | None = None,
    save: bool = True,
    **kwargs,
) -> TransitionLog:
    """Run FSM transition ``name`` (with ``kwargs``) on ``instance``, save it and write its log row.

    ``save=False`` changes the instance in memory only and returns the row unsaved: the caller saves both
    (the batch callers ``bulk_update`` and ``bulk_create``).
    """
    from_state = state_of(instance)
    getattr(instance, name)(**kwargs)
    if save:
        instance.save()
    return transition_record(
        instance, from_state=from_state, transition=name, actor=actor, by=by, reason=reason, at=at, save=save
    )
