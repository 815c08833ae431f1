"""The audit log gets every change to this app's tracked rows: a trigger on each event table appends the event
to it (flowmart/staff/change_log.py), with an index for the object's previous event; the events the tables
already hold are appended once, after the trigger is attached."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0004_audit_log_one_table"),
        ("pghistory", "0007_auto_20250421_0444"),
        ("users", "0004_audit_history"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="useraccessevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="users_usera_pgh_obj_81b5ac_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="useraccessevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"users_useraccessevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'users.user', 'users.user', 'pgh_obj_id', 'user'); RETURN NULL;",
                    hash="b2319d07b3026b0d9decb67338f5316c0c0f968b",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_b347d",
                    table="users_useraccessevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="usergroupevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), NULL, TG_TABLE_NAME, 'users.user_groups', 'users.user', 'user_id', 'user-group relationship'); RETURN NULL;",
                    hash="aa0573d4b7b0f3a7befb334c71f5780df92ef85a",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_598b1",
                    table="users_usergroupevent",
                    when="AFTER",
                ),
            ),
        ),
        # The events these tables already hold (flowmart/staff/migrations/0004_audit_log_one_table.py).
        migrations.RunSQL(
            [
                "SELECT staff_auditentry_append_events('users_useraccessevent', 'users.user', 'users.user', 'pgh_obj_id', 'user')",
                "SELECT staff_auditentry_append_events('users_usergroupevent', 'users.user_groups', 'users.user', 'user_id', 'user-group relationship')",
            ],
            migrations.RunSQL.noop,
        ),
    ]
