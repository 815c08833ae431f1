"""The audit log gets every change to this app's tracked rows: a trigger on each event table appends the event
to it (flowmart/staff/change_log.py), with an index for the object's previous event; the events the tables
already hold are appended once, after the trigger is attached."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0004_audit_log_one_table"),
        ("notifications", "0006_feedback_submitted_at_index"),
        ("pghistory", "0007_auto_20250421_0444"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="notificationtemplateevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="notificatio_pgh_obj_5efab6_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="notificationtemplateevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"notifications_notificationtemplateevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'notifications.notificationtemplate', 'notifications.notificationtemplate', 'pgh_obj_id', 'notification template'); RETURN NULL;",
                    hash="3baf320273814480a528fc76f380009b35b5a5a8",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_45431",
                    table="notifications_notificationtemplateevent",
                    when="AFTER",
                ),
            ),
        ),
        # The events these tables already hold (flowmart/staff/migrations/0004_audit_log_one_table.py).
        migrations.RunSQL(
            [
                "SELECT staff_auditentry_append_events('notifications_notificationtemplateevent', 'notifications.notificationtemplate', 'notifications.notificationtemplate', 'pgh_obj_id', 'notification template')",
            ],
            migrations.RunSQL.noop,
        ),
    ]
