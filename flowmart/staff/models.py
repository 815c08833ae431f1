"""The audit log's tables: staff actions (``AuditEntry`` and its ``AuditOutcome``), the history of staff accounts
and roles, and the one log staff read over both kinds (``flowmart.staff.audit_log.AuditLogRow``).

``AuditEntry`` and ``AuditOutcome`` are append-only in the database: a trigger refuses UPDATE and DELETE
(``pgtrigger.Protect``), so not even a superuser, a shell or a bug can rewrite them. Changes to configuration and catalog rows (prices,
stock settings, shipping rates, plans, templates, users) are kept by django-pghistory's triggers in one event
table per tracked model, declared next to the model (``@pghistory.track``); groups and their permissions are
Django's, so their event models are declared here.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler


class AuditEntry(models.Model):
    """A staff action, written and committed before its service runs: who asked for what, on which object, in
    which state (``before``), with which input, why, from where. What came of it is its ``AuditOutcome``."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin button"
        BULK = "bulk", "Admin bulk action"
        API = "api", "Staff API"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Kept as text too: the entry outlives the account.
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100, db_index=True)  # a StaffAction's name, "orders.order.hold"
    label = models.CharField(max_length=200, blank=True)
    object_type = models.CharField(max_length=100, db_index=True)  # "orders.order"
    object_id = models.CharField(max_length=100, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)  # the action's form input
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log (staff actions)"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action} {self.object_repr}"


class AuditOutcome(models.Model):
    """What came of an ``AuditEntry``: appended once, when the service returned or refused, or by the sweeper
    when the process that ran it died before saying (``interrupted``, with the object's state it found)."""

    class Outcome(models.TextChoices):
        DONE = "done", "Done"
        REFUSED = "refused", "Refused by the service"
        FAILED = "failed", "Failed (an unexpected error)"
        INTERRUPTED = "interrupted", "Interrupted (the process ended before recording the outcome)"

    entry = models.OneToOneField(AuditEntry, primary_key=True, on_delete=models.DO_NOTHING, related_name="result")
    at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    after = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_detail = models.TextField(blank=True)

    class Meta:
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.outcome}"


class _AuditLogCompiler(SQLCompiler):
    def as_sql(self, *args, **kwargs):
        from flowmart.staff.audit_log import audit_log_sql

        sql, params = super().as_sql(*args, **kwargs)
        return f"WITH {AuditLogRow._meta.db_table} AS ({audit_log_sql()})\n{sql}", params


class _AuditLogQuery(Query):
    def get_compiler(self, *args, **kwargs):
        compiler = super().get_compiler(*args, **kwargs)
        compiler.__class__ = _AuditLogCompiler
        return compiler


class _AuditLogQuerySet(models.QuerySet):
    def __init__(self, model=None, query=None, using=None, hints=None):
        super().__init__(model, query if query is not None else _AuditLogQuery(model), using, hints)


class AuditLogRow(models.Model):
    """One line of the one audit log: a staff action (``kind="action"``: an ``AuditEntry`` with its outcome) or
    a change to configuration or catalog (``kind="change"``: a model history event, its before and after).

    Not a table: every query over it reads both stores through a common table expression named like this
    model's table (``flowmart.staff.audit_log``), as pghistory's own ``Events`` reads its event tables, so a
    model tracked tomorrow is in the log without a migration. Read-only by construction.
    """

    key = models.TextField(primary_key=True)  # "action:<id>", "change:<event model>:<event id>"
    kind = models.CharField(max_length=10, choices=[("action", "Staff action"), ("change", "Change")])
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_email = models.CharField(max_length=254)
    action = models.CharField(max_length=150)  # "orders.order.hold", "inventory.variant.update"
    label = models.CharField(max_length=200)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField()
    after = models.JSONField()
    data = models.JSONField()
    reason = models.TextField()
    ip = models.CharField(max_length=45, null=True)
    source = models.CharField(max_length=10)  # admin, bulk, api; "" for a change made outside a request
    url = models.TextField()
    outcome = models.CharField(max_length=12)  # AuditOutcome's, or "unfinished"
    error_code = models.CharField(max_length=100)
    error_detail = models.TextField()

    objects = _AuditLogQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "staff_audit_log"
        default_permissions = ()  # read with staff.view_auditentry (Finance, Manager)
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action} {self.object_repr}"


# Roles and their permissions are Django's tables: tracked through proxy models, so the triggers and their
# migrations live in this app, not in django.contrib.auth (the users' own fields and their groups are tracked
# in flowmart.users.models).
@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), model_name="GroupEvent")
class TrackedGroup(Group):
    class Meta:
        proxy = True


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent(), obj_field=None, model_name="GroupPermissionEvent")
class TrackedGroupPermission(Group.permissions.through):
    class Meta:
        proxy = True
