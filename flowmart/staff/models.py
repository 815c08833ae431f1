"""The audit log: one table, ``AuditEntry``, of staff actions and of changes to configuration and catalog, each
line's outcome in ``AuditOutcome``; the history of staff accounts and roles.

Both are append-only in the database: a trigger refuses UPDATE and DELETE (``pgtrigger.Protect``), so not even a
superuser, a shell or a bug can rewrite them. A staff action's entry is written by ``staff_action_perform``
before its service runs and its outcome after. A change to a tracked row (prices, stock settings, shipping rates,
plans, templates, users, roles) is kept by django-pghistory's triggers in one event table per tracked model,
declared next to the model (``track_changes``), and each event is appended to ``AuditEntry`` (kind ``change``,
its outcome ``done``) by a trigger on the event table, in the transaction of the change
(``flowmart/staff/change_log.py``). Groups and their permissions are Django's, so their event models are
declared here.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Upper

from flowmart.staff.change_log import track_changes

# What the admin's search box looks in, as one upper-cased text: the same expression is indexed (trigrams) and
# searched (flowmart.staff.selectors.audit_log_search), so a search is an index scan, not a read of every line.
AUDIT_SEARCH_TEXT = Upper(
    Concat(
        *(
            "actor_email",
            Value(" "),
            "action",
            Value(" "),
            "object_id",
            Value(" "),
            "object_repr",
            Value(" "),
            "reason",
        ),
        output_field=models.TextField(),
    )
)


class AuditEntry(models.Model):
    """One line of the audit log.

    A staff action (``kind="action"``), written and committed before its service runs: who asked for what, on
    which object, in which state (``before``: the action's ``audit_fields``), with which input, why, from where.
    A change (``kind="change"``), written by the event table's trigger: who changed which row (action
    ``"<app>.<model>.<insert|update|delete>"``), the fields that changed as they were (``before``), from which
    IP and URL, why, and in ``data`` the staff action that made it, if one did. What came of a line (and the
    state after) is its ``AuditOutcome``.
    """

    class Kind(models.TextChoices):
        ACTION = "action", "Staff action"
        CHANGE = "change", "Change"

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        BULK = "bulk", "Admin bulk action"
        API = "api", "Staff API"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACTION)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The line outlives the account: no constraint, nothing to rewrite when it goes (the table refuses updates), and
    # the email is kept as text.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    # A StaffAction's name ("orders.order.hold") or a change's ("inventory.variant.update").
    action = models.CharField(max_length=100)
    label = models.CharField(max_length=200, blank=True)
    object_type = models.CharField(max_length=100)  # "orders.order"
    object_id = models.CharField(max_length=100)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)  # an action's form input; a change's staff action
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)  # "" for a change made outside a request
    url = models.TextField(blank=True)  # a change's request path
    event = models.CharField(max_length=150, blank=True)  # a change's pghistory event: "<event table>:<pgh_id>"

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        # One per filter of the admin and the API, each ending in the list's order (at) where a filter leaves many
        # lines; no others (each index is written on every staff action and every change).
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["action", "at"], name="audit_action_idx"),
            models.Index(fields=["kind", "at"], name="audit_kind_idx"),
            models.Index(Upper("actor_email"), F("at"), name="audit_actor_email_idx"),
            GinIndex(OpClass(AUDIT_SEARCH_TEXT, name="gin_trgm_ops"), name="audit_search_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["event"], condition=~Q(event=""), name="audit_change_once")]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="awaits_outcome",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                condition=pgtrigger.Q(new__kind="action"),
                func="INSERT INTO staff_unfinishedauditentry (entry_id) VALUES (NEW.id); RETURN NULL;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action} {self.object_repr}"

    # What came of it, read off its outcome (``select_related("result")``: flowmart.staff.selectors.audit_log).
    UNFINISHED = "unfinished"  # no outcome yet: its process is running, or died (the sweeper closes it)

    @property
    def outcome_or_none(self) -> AuditOutcome | None:
        try:
            return self.result
        except AuditOutcome.DoesNotExist:
            return None

    @property
    def outcome(self) -> str:
        result = self.outcome_or_none
        return result.outcome if result is not None else self.UNFINISHED

    @property
    def after(self) -> dict:
        result = self.outcome_or_none
        return result.after if result is not None else {}

    @property
    def error_code(self) -> str:
        result = self.outcome_or_none
        return result.error_code if result is not None else ""

    @property
    def error_detail(self) -> str:
        result = self.outcome_or_none
        return result.error_detail if result is not None else ""


class AuditOutcome(models.Model):
    """What came of an ``AuditEntry``: appended once, when the service returned or refused, or by the sweeper
    when the process that ran it died before saying (``interrupted``, with the object's state it found); a
    change's is written with it (``done``, ``after``: the fields that changed, as they became)."""

    class Outcome(models.TextChoices):
        DONE = "done", "Done"
        REFUSED = "refused", "Refused by the service"
        FAILED = "failed", "Failed (an unexpected error)"
        INTERRUPTED = "interrupted", "Interrupted (the process ended before recording the outcome)"

    entry = models.OneToOneField(AuditEntry, primary_key=True, on_delete=models.DO_NOTHING, related_name="result")
    at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, db_index=True)
    after = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_detail = models.TextField(blank=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="entry_finished",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                func="DELETE FROM staff_unfinishedauditentry WHERE entry_id = NEW.entry_id; RETURN NULL;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.outcome}"


class UnfinishedAuditEntry(models.Model):
    """A staff action's entry with no outcome yet: what the "unfinished" filter and the sweeper read, so neither
    compares the whole log with its outcomes. Not part of the log (it keeps nothing the log does not): a trigger
    on ``AuditEntry`` adds the entry, a trigger on ``AuditOutcome`` removes it when its outcome is appended, in
    the same transactions."""

    entry = models.OneToOneField(AuditEntry, primary_key=True, on_delete=models.DO_NOTHING, related_name="unfinished")

    def __str__(self) -> str:
        return f"{self.entry_id}: unfinished"


# Roles and their permissions are Django's tables: tracked through proxy models, so the triggers and their
# migrations live in this app, not in django.contrib.auth (the users' own fields and their groups are tracked
# in flowmart.users.models).
@track_changes(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), model_name="GroupEvent")
class TrackedGroup(Group):
    class Meta:
        proxy = True


@track_changes(pghistory.InsertEvent(), pghistory.DeleteEvent(), obj_field=None, model_name="GroupPermissionEvent")
class TrackedGroupPermission(Group.permissions.through):
    class Meta:
        proxy = True
