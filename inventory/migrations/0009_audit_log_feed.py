"""The audit log gets every change to this app's tracked rows: a trigger on each event table appends the event
to it (flowmart/staff/change_log.py), with an index for the object's previous event; the events the tables
already hold are appended once, after the trigger is attached."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0004_audit_log_one_table"),
        ("inventory", "0008_audit_history_and_staff_permissions"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="categoryevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="inventory_c_pgh_obj_ff3913_idx"),
        ),
        migrations.AddIndex(
            model_name="productevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="inventory_p_pgh_obj_446daf_idx"),
        ),
        migrations.AddIndex(
            model_name="stockthresholdevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="inventory_s_pgh_obj_c5aff1_idx"),
        ),
        migrations.AddIndex(
            model_name="variantevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="inventory_v_pgh_obj_375c0b_idx"),
        ),
        migrations.AddIndex(
            model_name="warehouseevent",
            index=models.Index(fields=["pgh_obj", "pgh_id"], name="inventory_w_pgh_obj_3d52d2_idx"),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="categoryevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"inventory_categoryevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'inventory.category', 'inventory.category', 'pgh_obj_id', 'category'); RETURN NULL;",
                    hash="072fc5d53fccbf94d127c4a3cc7dc56c4c4d2523",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_57738",
                    table="inventory_categoryevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="productevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"inventory_productevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'inventory.product', 'inventory.product', 'pgh_obj_id', 'product'); RETURN NULL;",
                    hash="30c3bb31b8e67b4addbb5f9d88cb12abee0fa595",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_f4569",
                    table="inventory_productevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="stockthresholdevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"inventory_stockthresholdevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'inventory.stock', 'inventory.stock', 'pgh_obj_id', 'stock'); RETURN NULL;",
                    hash="b3996dda767919f0d9b00c6beb509db1b8229238",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_2670a",
                    table="inventory_stockthresholdevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="variantevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"inventory_variantevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'inventory.variant', 'inventory.variant', 'pgh_obj_id', 'variant'); RETURN NULL;",
                    hash="0c74fedf253542a8794cd71f71940a77877b8b2c",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_918fc",
                    table="inventory_variantevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="warehouseevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_log",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM staff_auditentry_append_change(to_jsonb(NEW), CASE WHEN NEW.pgh_label IN ('insert', 'delete') THEN NULL ELSE (SELECT to_jsonb(p) FROM \"inventory_warehouseevent\" p WHERE p.pgh_obj_id = NEW.pgh_obj_id AND p.pgh_id < NEW.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) END, TG_TABLE_NAME, 'inventory.warehouse', 'inventory.warehouse', 'pgh_obj_id', 'warehouse'); RETURN NULL;",
                    hash="0ab712bb0d816b33e70f0586ad0fbdc1fa979618",
                    operation="INSERT",
                    pgid="pgtrigger_audit_log_676c0",
                    table="inventory_warehouseevent",
                    when="AFTER",
                ),
            ),
        ),
        # The events these tables already hold (flowmart/staff/migrations/0004_audit_log_one_table.py).
        migrations.RunSQL(
            [
                "SELECT staff_auditentry_append_events('inventory_categoryevent', 'inventory.category', 'inventory.category', 'pgh_obj_id', 'category')",
                "SELECT staff_auditentry_append_events('inventory_productevent', 'inventory.product', 'inventory.product', 'pgh_obj_id', 'product')",
                "SELECT staff_auditentry_append_events('inventory_stockthresholdevent', 'inventory.stock', 'inventory.stock', 'pgh_obj_id', 'stock')",
                "SELECT staff_auditentry_append_events('inventory_variantevent', 'inventory.variant', 'inventory.variant', 'pgh_obj_id', 'variant')",
                "SELECT staff_auditentry_append_events('inventory_warehouseevent', 'inventory.warehouse', 'inventory.warehouse', 'pgh_obj_id', 'warehouse')",
            ],
            migrations.RunSQL.noop,
        ),
    ]
