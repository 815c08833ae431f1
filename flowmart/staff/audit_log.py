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

_CHANGES = """
SELECT 'change:{event_label}:' || ev.pgh_id AS key, 'change' AS kind, ev.pgh_created_at AS at,
       u.id AS actor_id, COALESCE(u.email, '') AS actor_email,
       '{tracked}.' || ev.pgh_label AS action,
       CASE ev.pgh_label WHEN 'insert' THEN 'Created' WHEN 'update' THEN 'Changed' WHEN 'delete' THEN 'Deleted'
            ELSE ev.pgh_label END || ' {verbose_name}' AS label,
       '{object_type}' AS object_type, ({object_id})::text AS object_id,
       COALESCE(cur.row->>'sku', cur.row->>'email', cur.row->>'code', cur.row->>'name', cur.row->>'slug',
                '#' || ({object_id})::text) AS object_repr,
       CASE WHEN ev.pgh_label = 'insert' THEN '{{}}'::jsonb WHEN ev.pgh_label = 'delete' THEN cur.row
            WHEN prev.row IS NULL THEN '{{}}'::jsonb ELSE diff.before END AS before,
       CASE WHEN ev.pgh_label = 'delete' THEN '{{}}'::jsonb WHEN ev.pgh_label = 'insert' OR prev.row IS NULL
            THEN cur.row ELSE diff.after END AS after,
       '{{}}'::jsonb AS data, COALESCE(c.metadata->>'reason', '') AS reason, c.metadata->>'ip' AS ip,
       CASE WHEN starts_with(c.metadata->>'url', '/admin/') THEN 'admin'
            WHEN starts_with(c.metadata->>'url', '/api/') THEN 'api' ELSE '' END AS source,
       COALESCE(c.metadata->>'url', '') AS url, 'done' AS outcome, '' AS error_code, '' AS error_detail
FROM "{events}" ev
LEFT JOIN "{contexts}" c ON c.id = ev.pgh_context_id
LEFT JOIN "{users}" u ON u.id::text = c.metadata->>'user'
CROSS JOIN LATERAL (SELECT to_jsonb(ev) {drop_pgh} AS row) cur
LEFT JOIN LATERAL ({previous}) prev ON true
CROSS JOIN LATERAL (
    SELECT COALESCE(jsonb_object_agg(n.key, p.value), '{{}}'::jsonb) AS before,
           COALESCE(jsonb_object_agg(n.key, n.value), '{{}}'::jsonb) AS after
    FROM jsonb_each(cur.row) n JOIN jsonb_each(prev.row) p USING (key)
    WHERE n.value IS DISTINCT FROM p.value
) diff
"""

# The event just before this one for the same object (only updates need it).
_PREVIOUS = """
SELECT to_jsonb(p) {drop_pgh} AS row FROM "{events}" p
WHERE ev.pgh_label = 'update' AND p.pgh_obj_id = ev.pgh_obj_id AND p.pgh_id < ev.pgh_id
ORDER BY p.pgh_id DESC LIMIT 1
"""


def _changes_sql(event_model) -> str:
    fields = event_model._meta.concrete_fields
    drop_pgh = " ".join(f"- '{f.column}'" for f in fields if f.column.startswith("pgh_"))
    events = event_model._meta.db_table
    tracked = event_model.pgh_tracked_model._meta.concrete_model
    if any(f.name == "pgh_obj" for f in fields):
        owner, object_id = tracked, "ev.pgh_obj_id"
        previous = _PREVIOUS.format(drop_pgh=drop_pgh, events=events)
    else:  # a link row: the object is the row it hangs from
        link = next(f for f in fields if f.is_relation and not f.name.startswith("pgh_"))
        owner, object_id = link.related_model._meta.concrete_model, f"ev.{link.column}"
        previous = "SELECT NULL::jsonb AS row"
    return _CHANGES.format(
        event_label=event_model._meta.label,
        tracked=tracked._meta.label_lower,
        object_type=owner._meta.label_lower,
        verbose_name=str(tracked._meta.verbose_name).replace("'", "''"),
        object_id=object_id,
        drop_pgh=drop_pgh,
        events=events,
        contexts=Context._meta.db_table,
        users=get_user_model()._meta.db_table,
        previous=previous,
    )


@functools.cache
def audit_log_sql() -> str:
    """The body of the ``staff_audit_log`` common table expression (built once per process: the tracked
    models are known when the apps are ready)."""
    entries, outcomes = apps.get_model("staff", "AuditEntry"), apps.get_model("staff", "AuditOutcome")
    actions = _ACTIONS.format(entries=entries._meta.db_table, outcomes=outcomes._meta.db_table)
    changes = [_changes_sql(model) for model in sorted(event_models(), key=lambda m: m._meta.label)]
    return "\nUNION ALL\n".join([actions, *changes])
