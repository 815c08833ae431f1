"""The audit log becomes one table: ``AuditEntry`` holds staff actions and, written by a trigger on every
pghistory event table in the transaction of the change, changes to configuration and catalog (kind ``change``,
their outcome ``done``). The UNION over the event tables (``AuditLogRow``) goes.

This migration adds the columns and indexes the log's filters read, and the one PL/pgSQL function every event
table's trigger calls (``flowmart/staff/change_log.py``); each app's own migration that attaches the trigger to
its event tables also appends the events they already hold (staff's two here). Backwards, the change lines go
(pghistory's event tables still hold every change) and the function is dropped.
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.functions.text
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

# One line of the log (and its outcome) for one pghistory event. ``event``: the event row (to_jsonb(NEW));
# ``previous``: the object's previous event, if any (the trigger looks it up in the event table's
# (pgh_obj_id, pgh_id) index); ``event_table``: the event's table; ``tracked``: "inventory.variant" (the line's
# action is "<tracked>.<event label>"); ``object_type`` and ``object_id_key``: the line's object (a link row's is
# the row it hangs from: "auth.group", "group_id"); ``verbose_name``: for the label ("Changed variant").
# before/after are the fields that changed since the previous event; an insert has only an after, a delete only a
# before. Who, IP, URL, reason and the staff action come from pghistory's context (flowmart.staff.history,
# flowmart.staff.actions).
APPEND_CHANGE = r"""
CREATE OR REPLACE FUNCTION staff_auditentry_append_change(
    event jsonb, previous jsonb, event_table text, tracked text, object_type text, object_id_key text,
    verbose_name text
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    event_label text := event->>'pgh_label';
    changed_at timestamptz := (event->>'pgh_created_at')::timestamptz;
    row_now jsonb;
    fields_before jsonb := '{}';
    fields_after jsonb := '{}';
    context jsonb;
    actor_id bigint;
    actor_email text;
    client_ip inet;
    request_url text;
    entry_id bigint;
BEGIN
    SELECT COALESCE(jsonb_object_agg(key, value), '{}') INTO row_now
    FROM jsonb_each(event) WHERE key NOT LIKE 'pgh\_%';

    IF event_label = 'insert' THEN
        fields_after := row_now;
    ELSIF event_label = 'delete' THEN
        fields_before := row_now;
    ELSIF previous IS NULL THEN
        fields_after := row_now;  -- nothing earlier to compare with: what it became
    ELSE
        SELECT COALESCE(jsonb_object_agg(n.key, p.value), '{}'), COALESCE(jsonb_object_agg(n.key, n.value), '{}')
        INTO fields_before, fields_after
        FROM jsonb_each(row_now) n JOIN jsonb_each(previous) p USING (key)
        WHERE n.value IS DISTINCT FROM p.value;
    END IF;

    IF event->>'pgh_context_id' IS NOT NULL THEN
        SELECT c.metadata INTO context FROM pghistory_context c WHERE c.id = (event->>'pgh_context_id')::uuid;
    END IF;
    context := COALESCE(context, '{}');
    IF context->>'user' ~ '^[0-9]+$' THEN
        SELECT u.id, u.email INTO actor_id, actor_email FROM users_user u WHERE u.id = (context->>'user')::bigint;
    END IF;
    IF context->>'ip' IS NOT NULL THEN
        BEGIN
            client_ip := (context->>'ip')::inet;
        EXCEPTION WHEN invalid_text_representation THEN
            client_ip := NULL;  -- not an address: the change is kept without it
        END;
    END IF;
    request_url := COALESCE(context->>'url', '');

    INSERT INTO staff_auditentry (
        kind, "at", actor_id, actor_email, action, label, object_type, object_id, object_repr,
        "before", data, reason, ip, source, url, event
    ) VALUES (
        'change',
        changed_at,
        actor_id,
        COALESCE(actor_email, ''),
        left(tracked || '.' || event_label, 100),
        left(
            CASE event_label WHEN 'insert' THEN 'Created ' WHEN 'update' THEN 'Changed ' WHEN 'delete' THEN 'Deleted '
                ELSE event_label || ' ' END || verbose_name,
            200
        ),
        object_type,
        left(COALESCE(event->>object_id_key, ''), 100),
        left(
            COALESCE(
                row_now->>'sku', row_now->>'email', row_now->>'code', row_now->>'name', row_now->>'slug',
                '#' || (event->>object_id_key)
            ),
            200
        ),
        fields_before,
        jsonb_strip_nulls(
            jsonb_build_object('staff_action', context->'staff_action', 'audit_entry', context->'audit_entry')
        ),
        COALESCE(context->>'reason', ''),
        client_ip,
        CASE WHEN starts_with(request_url, '/admin/') THEN 'admin' WHEN starts_with(request_url, '/api/') THEN 'api'
            ELSE '' END,
        request_url,
        event_table || ':' || (event->>'pgh_id')
    ) RETURNING id INTO entry_id;
    INSERT INTO staff_auditoutcome (entry_id, "at", outcome, "after", error_code, error_detail)
    VALUES (entry_id, changed_at, 'done', fields_after, '', '');
END
$$;
"""

# The events an event table already holds and the log lacks, appended oldest first. Each app's migration that
# attaches the trigger to its tables calls it after the trigger: the trigger's lock on the table (until the
# migration commits) keeps a concurrent change from being missed or appended twice.
APPEND_EVENTS = r"""
CREATE OR REPLACE FUNCTION staff_auditentry_append_events(
    event_table text, tracked text, object_type text, object_id_key text, verbose_name text
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    event jsonb;
    previous jsonb;
BEGIN
    FOR event, previous IN EXECUTE format(
        'SELECT to_jsonb(e), %s FROM %I e WHERE NOT EXISTS '
        '(SELECT 1 FROM staff_auditentry a WHERE a.event = %L || '':'' || e.pgh_id) ORDER BY e.pgh_id',
        CASE WHEN object_id_key = 'pgh_obj_id' THEN format(
            '(SELECT to_jsonb(p) FROM %I p WHERE p.pgh_obj_id = e.pgh_obj_id AND p.pgh_id < e.pgh_id '
            'ORDER BY p.pgh_id DESC LIMIT 1)', event_table
        ) ELSE 'NULL::jsonb' END,
        event_table, event_table
    ) LOOP
        PERFORM staff_auditentry_append_change(
            event, previous, event_table, tracked, object_type, object_id_key, verbose_name
        );
    END LOOP;
END
$$;
"""

# Backwards: the change lines go with the triggers that wrote them (their events stay in pghistory's tables).
REMOVE_CHANGES = """
SELECT set_config('pgtrigger.ignore', '{pgtrigger_append_only_41ac2,pgtrigger_append_only_8c9cc}', true);
DELETE FROM staff_auditoutcome o USING staff_auditentry e WHERE e.id = o.entry_id AND e.kind = 'change';
DELETE FROM staff_auditentry WHERE kind = 'change';
SET CONSTRAINTS ALL IMMEDIATE;  -- their deferred foreign-key checks now: the table's indexes change next
SELECT set_config('pgtrigger.ignore', '{}', true);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("pghistory", "0007_auto_20250421_0444"),
        ("staff", "0003_audit_outcome_and_one_log"),
        ("users", "0004_audit_history"),  # the function reads users_user
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.DeleteModel(name="AuditLogRow"),
        migrations.AlterModelOptions(
            name="auditentry",
            options={"verbose_name": "audit log entry", "verbose_name_plural": "audit log"},
        ),
        migrations.AddField(
            model_name="auditentry",
            name="kind",
            field=models.CharField(
                choices=[("action", "Staff action"), ("change", "Change")], default="action", max_length=10
            ),
        ),
        migrations.AddField(model_name="auditentry", name="url", field=models.TextField(blank=True)),
        migrations.AddField(model_name="auditentry", name="event", field=models.CharField(blank=True, max_length=150)),
        migrations.AlterField(
            model_name="auditentry",
            name="source",
            field=models.CharField(
                choices=[("admin", "Admin"), ("bulk", "Admin bulk action"), ("api", "Staff API")], max_length=10
            ),
        ),
        # A line outlives its actor's account: deleting a user must not have to rewrite (SET NULL) the log.
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        # Indexes per filter (flowmart/staff/models.py), none of Django's LIKE companions.
        migrations.AlterField(model_name="auditentry", name="action", field=models.CharField(max_length=100)),
        migrations.AlterField(model_name="auditentry", name="object_type", field=models.CharField(max_length=100)),
        migrations.AlterField(model_name="auditentry", name="object_id", field=models.CharField(max_length=100)),
        migrations.AlterField(
            model_name="auditoutcome",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("done", "Done"),
                    ("refused", "Refused by the service"),
                    ("failed", "Failed (an unexpected error)"),
                    ("interrupted", "Interrupted (the process ended before recording the outcome)"),
                ],
                db_index=True,
                max_length=12,
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["action", "at"], name="audit_action_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["kind", "at"], name="audit_kind_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                django.db.models.functions.text.Upper("actor_email"), models.F("at"), name="audit_actor_email_idx"
            ),
        ),
        # pg_trgm for the search index; inventory 0001 made it already, and it stays when this migration is undone.
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="auditentry",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper(
                        django.db.models.functions.text.Concat(
                            "actor_email",
                            models.Value(" "),
                            "action",
                            models.Value(" "),
                            "object_id",
                            models.Value(" "),
                            "object_repr",
                            models.Value(" "),
                            "reason",
                            output_field=models.TextField(),
                        )
                    ),
                    name="gin_trgm_ops",
                ),
                name="audit_search_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("event", ""), _negated=True), fields=("event",), name="audit_change_once"
            ),
        ),
        # The staff actions with no outcome yet, kept by two triggers (for the "unfinished" filter and the sweeper).
        migrations.CreateModel(
            name="UnfinishedAuditEntry",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="unfinished",
                        serialize=False,
                        to="staff.auditentry",
                    ),
                ),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditentry",
            trigger=pgtrigger.compiler.Trigger(
                name="awaits_outcome",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.\"kind\" = 'action')",
                    func="INSERT INTO staff_unfinishedauditentry (entry_id) VALUES (NEW.id); RETURN NULL;",
                    hash="ccdcc5fc8a7d25075903adc7255295a0e0b01776",
                    operation="INSERT",
                    pgid="pgtrigger_awaits_outcome_51643",
                    table="staff_auditentry",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditoutcome",
            trigger=pgtrigger.compiler.Trigger(
                name="entry_finished",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="DELETE FROM staff_unfinishedauditentry WHERE entry_id = NEW.entry_id; RETURN NULL;",
                    hash="a1861547215fcc08894a6f0ee43c509a63b2e993",
                    operation="INSERT",
                    pgid="pgtrigger_entry_finished_db77a",
                    table="staff_auditoutcome",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunSQL(
            "INSERT INTO staff_unfinishedauditentry (entry_id) SELECT e.id FROM staff_auditentry e "
            "WHERE NOT EXISTS (SELECT 1 FROM staff_auditoutcome o WHERE o.entry_id = e.id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(APPEND_CHANGE, "DROP FUNCTION staff_auditentry_append_change"),
        migrations.RunSQL(APPEND_EVENTS, "DROP FUNCTION staff_auditentry_append_events"),
        migrations.RunSQL(migrations.RunSQL.noop, REMOVE_CHANGES),
        # Staff's own event tables (roles and their permissions).
        migrations.AddIndex(
            model_name="groupevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="staff_group_pgh_obj_84f23b_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="groupevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"staff_groupevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'auth.group', 'auth.group', 'pgh_obj_id', 'group'); RETURN NULL;",
                    hash="681ad58fbd8bc36977dae44081c6e627f9ce101f",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_ecb0a",
                    table="staff_groupevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="grouppermissionevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), NULL, TG_TABLE_NAME, 'auth.group_permissions', 'auth.group', 'group_id', 'group-permission relationship'); RETURN NULL;",
                    hash="ef974f619f2c5e39975b7e328e70a2a1c7633207",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_6a336",
                    table="staff_grouppermissionevent",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunSQL(
            [
                "SELECT staff_auditentry_append_events("
                "'staff_groupevent', 'auth.group', 'auth.group', 'pgh_obj_id', 'group')",
                "SELECT staff_auditentry_append_events('staff_grouppermissionevent', 'auth.group_permissions', "
                "'auth.group', 'group_id', 'group-permission relationship')",
            ],
            migrations.RunSQL.noop,
        ),
    ]
