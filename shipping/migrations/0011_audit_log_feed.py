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
        ("shipping", "0010_report_date_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="shippingmethodevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="shipping_sh_pgh_obj_7ac7e2_idx"),
        ),
        migrations.AddIndex(
            model_name="shippingrateevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="shipping_sh_pgh_obj_8260ce_idx"),
        ),
        migrations.AddIndex(
            model_name="shippingzoneevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="shipping_sh_pgh_obj_de5ddb_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="shippingmethodevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"shipping_shippingmethodevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'shipping.shippingmethod', 'shipping.shippingmethod', 'pgh_obj_id', 'shipping method'); RETURN NULL;",
                    hash="cd0a82303b9b241f4929a7ae6b8abbae04271696",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_a3b92",
                    table="shipping_shippingmethodevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="shippingrateevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"shipping_shippingrateevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'shipping.shippingrate', 'shipping.shippingrate', 'pgh_obj_id', 'shipping rate'); RETURN NULL;",
                    hash="20d2eecdd6a4af0ac825d12fa61f58db4a710ed2",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_d64ae",
                    table="shipping_shippingrateevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="shippingzoneevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"shipping_shippingzoneevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'shipping.shippingzone', 'shipping.shippingzone', 'pgh_obj_id', 'shipping zone'); RETURN NULL;",
                    hash="bf5bb8e21f2df9208b1073e5a56c6e1c450b32ba",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_5c2ff",
                    table="shipping_shippingzoneevent",
                    when="AFTER",
                ),
            ),
        ),
        # The events these tables already hold (flowmart/staff/migrations/0004_audit_log_one_table.py).
        migrations.RunSQL(
            [
                "SELECT staff_auditentry_append_events('shipping_shippingmethodevent', 'shipping.shippingmethod', 'shipping.shippingmethod', 'pgh_obj_id', 'shipping method')",
                "SELECT staff_auditentry_append_events('shipping_shippingrateevent', 'shipping.shippingrate', 'shipping.shippingrate', 'pgh_obj_id', 'shipping rate')",
                "SELECT staff_auditentry_append_events('shipping_shippingzoneevent', 'shipping.shippingzone', 'shipping.shippingzone', 'pgh_obj_id', 'shipping zone')",
            ],
            migrations.RunSQL.noop,
        ),
    ]
