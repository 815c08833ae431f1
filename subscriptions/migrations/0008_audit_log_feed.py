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
        ("subscriptions", "0007_audit_history_and_staff_permissions"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="planevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="subscriptio_pgh_obj_d8071a_idx"),
        ),
        migrations.AddIndex(
            model_name="tierevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="subscriptio_pgh_obj_766e7c_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="planevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"subscriptions_planevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'subscriptions.plan', 'subscriptions.plan', 'pgh_obj_id', 'plan'); RETURN NULL;",
                    hash="d3583668223b434900a560a2cff8d90f3135da41",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_078aa",
                    table="subscriptions_planevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="tierevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"subscriptions_tierevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'subscriptions.tier', 'subscriptions.tier', 'pgh_obj_id', 'tier'); RETURN NULL;",
                    hash="18c1b783162d411e4ca6279b90fb7dd3d47492a0",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_eb626",
                    table="subscriptions_tierevent",
                    when="AFTER",
                ),
            ),
        ),
        # The events these tables already hold (flowmart/staff/migrations/0004_audit_log_one_table.py).
        migrations.RunSQL(
            [
                "SELECT staff_auditentry_append_events('subscriptions_planevent', 'subscriptions.plan', 'subscriptions.plan', 'pgh_obj_id', 'plan')",
                "SELECT staff_auditentry_append_events('subscriptions_tierevent', 'subscriptions.tier', 'subscriptions.tier', 'pgh_obj_id', 'tier')",
            ],
            migrations.RunSQL.noop,
        ),
    ]
