"""Changes to configuration and catalog in the audit log: ``track_changes`` is ``pghistory.track`` plus a trigger
on the event table that appends each event to the log (``AuditEntry``, kind ``change``) in the transaction that
made the change (docs/staff.md §Audit log).

A tracked model is declared with ``@track_changes(pghistory.InsertEvent(), …)`` instead of ``@pghistory.track``;
its event table then gets, through pgtrigger (so ``makemigrations`` writes the migration):

* ``ChangeLogged``, an AFTER INSERT trigger that finds the object's previous event and calls the one PL/pgSQL
  function that writes the log line, ``staff_auditentry_append_change`` (created by
  ``flowmart/staff/migrations/0004_audit_log_one_table.py``): it keeps only the fields that changed since that
  event (an insert has only an after, a delete only a before) and copies who, IP, URL, reason and staff action
  from pghistory's context;
* an index on ``(pgh_obj_id, pgh_id)``, so that previous event is one index lookup.

``audit_log_feeds_checked`` (a system check) fails when an event model lacks the trigger (a model tracked with
``pghistory.track`` itself would keep its history out of the log).
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.core import checks
from django.db import models
from pghistory.core import event_models

# The link rows of a many-to-many (a group's permission, a user's group) have no object of their own: their
# event model is declared with obj_field=None, and their log line belongs to the row of their first foreign key.
_OBJECT_ID_KEY = "pgh_obj_id"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ChangeLogged(pgtrigger.Trigger):
    """Appends each new row of an event table to the audit log (see the module docstring)."""

    when = pgtrigger.After
    operation = pgtrigger.Insert

    def __init__(self, *, tracked: str, object_type: str, object_id_key: str, verbose_name: str) -> None:
        super().__init__(name="audit_log")
        self.tracked = tracked  # "inventory.variant": the line's action is "<tracked>.<event label>"
        self.object_type = object_type  # the line's object: the tracked model's, or a link row's owner's
        self.object_id_key = object_id_key
        self.verbose_name = verbose_name

    def get_func(self, model) -> str:
        # The object's previous event is looked up here, with the table's name written in, so PL/pgSQL plans the
        # lookup once per session (a dynamic query in the shared function would be planned on every change).
        previous = (
            "CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE "  # noqa: S608 (a model's table name)
            f'(SELECT to_jsonb(p) FROM "{model._meta.db_table}" p WHERE p.pgh_obj_id = NEW.pgh_obj_id '
            "AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END"
            if self.object_id_key == _OBJECT_ID_KEY
            else "NULL"  # a link row is only inserted and deleted
        )
        arguments = ", ".join(
            _literal(a) for a in (self.tracked, self.object_type, self.object_id_key, self.verbose_name)
        )
        return (
            f"PERFORM staff_auditentry_append_change(to_jsonb(NEW), {previous}, TG_TABLE_NAME, {arguments}); "
            "RETURN NULL;"
        )


def _change_logged(tracked_model: type[models.Model], *, linked: bool) -> ChangeLogged:
    concrete = tracked_model._meta.concrete_model
    if linked:
        link = next(f for f in concrete._meta.concrete_fields if f.many_to_one)
        owner = link.remote_field.model  # a class, or "app_label.Model" while the apps are loading
        object_type = owner.lower() if isinstance(owner, str) else owner._meta.concrete_model._meta.label_lower
        object_id_key = link.column
    else:
        object_type, object_id_key = concrete._meta.label_lower, _OBJECT_ID_KEY
    return ChangeLogged(
        tracked=concrete._meta.label_lower,
        object_type=object_type,
        object_id_key=object_id_key,
        verbose_name=str(concrete._meta.verbose_name),
    )


def track_changes(*trackers, **options):
    """``pghistory.track(*trackers, **options)``, whose events also go to the audit log."""

    def decorator(tracked_model: type[models.Model]) -> type[models.Model]:
        linked = "obj_field" in options and options["obj_field"] is None
        meta = dict(options.get("meta") or {})
        meta["triggers"] = [*meta.get("triggers", []), _change_logged(tracked_model, linked=linked)]
        if not linked:  # the object's previous event: one index lookup
            meta["indexes"] = [*meta.get("indexes", []), models.Index(fields=["pgh_obj", "pgh_id"])]
        return pghistory.track(*trackers, **{**options, "meta": meta})(tracked_model)

    return decorator


@checks.register(checks.Tags.models)
def audit_log_feeds_checked(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{model._meta.label}'s events do not reach the audit log.",
            hint="Declare the tracked model with flowmart.staff.change_log.track_changes, not pghistory.track.",
            obj=model,
            id="staff.E001",
        )
        for model in event_models()
        if not any(isinstance(t, ChangeLogged) for t in getattr(model._meta, "triggers", []))
    ]
