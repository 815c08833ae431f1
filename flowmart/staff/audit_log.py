"""The one audit log, as SQL: staff actions and model history read as one list (``AuditLogRow``).

Two stores feed it, each written where it is safe from a crash:

* a staff action's ``AuditEntry`` is committed before its service runs, and its ``AuditOutcome`` appended after
  (``flowmart.staff.actions.staff_action_perform``); an entry with no outcome yet reads as ``unfinished``;
* a change to a tracked configuration or catalog row is written by django-pghistory's triggers in the very
  transaction that changes the row, with the request's context (user, URL, IP; a staff action's name and reason).

``audit_log_sql()`` is the ``UNION ALL`` of the actions and of one ``SELECT`` per pghistory event model, all with
``AuditLogRow``'s columns. A change's ``before`` and ``after`` are the fields that changed: an update is compared
with the object's previous event, an insert has only ``after``, a delete only ``before``. A link row (a group's
permission, a user's group) has no object of its own: it belongs to the row of its first foreign key.
The SQL holds no ``%`` (it is formatted with the query's parameters).
"""

from __future__ import annotations

import functools

from django.apps import apps
from django.contrib.auth import get_user_model
from pghistory.core import event_models
from pghistory.models import Context

_ACTIONS = """
SELECT 'action:' || e.id AS key, 'action' AS kind, e.at, e.actor_id, e.actor_email, e.action, e.label,
       e.object_type, e.object_id, e.object_repr, e.before, COALESCE(o.after, '{{}}'::jsonb) AS after, e.data,
       e.reason, host(e.ip) AS ip, e.source, '' AS url, COALESCE(o.outcome, 'unfinished') AS outcome,
       COALESCE(o.error_code, '') AS error_code, COALESCE(o.error_detail, '') AS error_detail
FROM "{entries}" e LEFT JOIN "{outcomes}" o ON o.entry_id = e.id
"""

# One tracked table. ``w.pgh_prev_id`` is the object's previous event (a window over the table: one sort, not a
# lookup per row); the previous row itself and the diff are scalar subqueries, evaluated only for the rows a
# query returns (a count computes neither).
_CHANGES = """
SELECT 'change:{event_label}:' || w.pgh_id AS key, 'change' AS kind, w.pgh_created_at AS at,
       u.id AS actor_id, COALESCE(u.email, '') AS actor_email,
       '{tracked}.' || w.pgh_label AS action,
       CASE w.pgh_label WHEN 'insert' THEN 'Created' WHEN 'update' THEN 'Changed' WHEN 'delete' THEN 'Deleted'
            ELSE w.pgh_label END || ' {verbose_name}' AS label,
       '{object_type}' AS object_type, ({object_id})::text AS object_id,
       COALESCE({cur}->>'sku', {cur}->>'email', {cur}->>'code', {cur}->>'name', {cur}->>'slug',
                '#' || ({object_id})::text) AS object_repr,
       CASE WHEN w.pgh_label = 'insert' THEN '{{}}'::jsonb WHEN w.pgh_label = 'delete' THEN {cur}
            WHEN w.pgh_prev_id IS NULL THEN '{{}}'::jsonb
            ELSE (SELECT COALESCE(jsonb_object_agg(n.key, p.value), '{{}}'::jsonb) {diff}) END AS before,
       CASE WHEN w.pgh_label = 'delete' THEN '{{}}'::jsonb
            WHEN w.pgh_label = 'insert' OR w.pgh_prev_id IS NULL THEN {cur}
            ELSE (SELECT COALESCE(jsonb_object_agg(n.key, n.value), '{{}}'::jsonb) {diff}) END AS after,
       '{{}}'::jsonb AS data, COALESCE(c.metadata->>'reason', '') AS reason, c.metadata->>'ip' AS ip,
       CASE WHEN starts_with(c.metadata->>'url', '/admin/') THEN 'admin'
            WHEN starts_with(c.metadata->>'url', '/api/') THEN 'api' ELSE '' END AS source,
       COALESCE(c.metadata->>'url', '') AS url, 'done' AS outcome, '' AS error_code, '' AS error_detail
FROM (SELECT ev.*, {previous_id} AS pgh_prev_id FROM "{events}" ev) w
LEFT JOIN "{contexts}" c ON c.id = w.pgh_context_id
LEFT JOIN "{users}" u ON u.id::text = c.metadata->>'user'
"""

# The fields that differ between the object's previous event and this one.
_DIFF = """FROM jsonb_each({cur}) n
JOIN jsonb_each((SELECT to_jsonb(p0) {drop_pgh} FROM "{events}" p0 WHERE p0.pgh_id = w.pgh_prev_id)) p USING (key)
WHERE n.value IS DISTINCT FROM p.value"""


def _changes_sql(event_model) -> str:
    fields = event_model._meta.concrete_fields
    drop_pgh = " ".join(f"- '{f.column}'" for f in fields if f.column.startswith("pgh_"))
    events = event_model._meta.db_table
    tracked = event_model.pgh_tracked_model._meta.concrete_model
    cur = f"(to_jsonb(w) - 'pgh_prev_id' {drop_pgh})"
    if any(f.name == "pgh_obj" for f in fields):
        owner, object_id = tracked, "w.pgh_obj_id"
        previous_id = "lag(ev.pgh_id) OVER (PARTITION BY ev.pgh_obj_id ORDER BY ev.pgh_id)"
    else:  # a link row (only inserted and deleted): the object is the row it hangs from
        link = next(f for f in fields if f.is_relation and not f.name.startswith("pgh_"))
        owner, object_id = link.related_model._meta.concrete_model, f"w.{link.column}"
        previous_id = "NULL::integer"
    return _CHANGES.format(
        event_label=event_model._meta.label,
        tracked=tracked._meta.label_lower,
        object_type=owner._meta.label_lower,
        verbose_name=str(tracked._meta.verbose_name).replace("'", "''"),
        object_id=object_id,
        cur=cur,
        diff=_DIFF.format(cur=cur, drop_pgh=drop_pgh, events=events),
        previous_id=previous_id,
        events=events,
        contexts=Context._meta.db_table,
        users=get_user_model()._meta.db_table,
    )


@functools.cache
def audit_log_sql() -> str:
    """The body of the ``staff_audit_log`` common table expression (built once per process: the tracked
    models are known when the apps are ready)."""
    entries, outcomes = apps.get_model("staff", "AuditEntry"), apps.get_model("staff", "AuditOutcome")
    actions = _ACTIONS.format(entries=entries._meta.db_table, outcomes=outcomes._meta.db_table)
    changes = [_changes_sql(model) for model in sorted(event_models(), key=lambda m: m._meta.label)]
    return "\nUNION ALL\n".join([actions, *changes])
