"""The audit log of staff actions (``AuditEntry``) and the history of staff accounts and roles.

``AuditEntry`` is append-only in the database: a trigger refuses UPDATE and DELETE (``pgtrigger.Protect``), so
not even a superuser, a shell or a bug can rewrite it. Changes to configuration and catalog rows (prices,
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


class AuditEntry(models.Model):
    class Source(models.TextChoices):
        ADMIN = "admin", "Admin button"
        BULK = "bulk", "Admin bulk action"
        API = "api", "Staff API"

    class Outcome(models.TextChoices):
        DONE = "done", "Done"
        REFUSED = "refused", "Refused by the service"

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
    after = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)  # the action's form input
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.DONE)
    error_code = models.CharField(max_length=100, blank=True)
    error_detail = models.TextField(blank=True)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log (staff actions)"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

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
