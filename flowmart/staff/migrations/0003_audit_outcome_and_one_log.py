"""A staff action's audit entry is committed before its service runs and its outcome appended after, in a table
of its own (append-only like the entry); the one audit log (``AuditLogRow``) is a query, not a table."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0002_staff_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditLogRow",
            fields=[
                ("key", models.TextField(primary_key=True, serialize=False)),
                ("kind", models.CharField(choices=[("action", "Staff action"), ("change", "Change")], max_length=10)),
                ("at", models.DateTimeField()),
                ("actor_email", models.CharField(max_length=254)),
                ("action", models.CharField(max_length=150)),
                ("label", models.CharField(max_length=200)),
                ("object_type", models.CharField(max_length=100)),
                ("object_id", models.CharField(max_length=100)),
                ("object_repr", models.CharField(max_length=200)),
                ("before", models.JSONField()),
                ("after", models.JSONField()),
                ("data", models.JSONField()),
                ("reason", models.TextField()),
                ("ip", models.CharField(max_length=45, null=True)),
                ("source", models.CharField(max_length=10)),
                ("url", models.TextField()),
                ("outcome", models.CharField(max_length=12)),
                ("error_code", models.CharField(max_length=100)),
                ("error_detail", models.TextField()),
            ],
            options={
                "verbose_name": "audit log entry",
                "verbose_name_plural": "audit log",
                "db_table": "staff_audit_log",
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.CreateModel(
            name="AuditOutcome",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="result",
                        serialize=False,
                        to="staff.auditentry",
                    ),
                ),
                ("at", models.DateTimeField(auto_now_add=True)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("done", "Done"),
                            ("refused", "Refused by the service"),
                            ("failed", "Failed (an unexpected error)"),
                            ("interrupted", "Interrupted (the process ended before recording the outcome)"),
                        ],
                        max_length=12,
                    ),
                ),
                ("after", models.JSONField(blank=True, default=dict)),
                ("error_code", models.CharField(blank=True, max_length=100)),
                ("error_detail", models.TextField(blank=True)),
            ],
        ),
        # Entries written before this migration were written after their service returned: their outcome moves
        # to the outcome table as it was (same moment).
        migrations.RunSQL(
            "INSERT INTO staff_auditoutcome (entry_id, at, outcome, after, error_code, error_detail) "
            "SELECT id, at, outcome, after, error_code, error_detail FROM staff_auditentry",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name="auditentry",
            name="after",
        ),
        migrations.RemoveField(
            model_name="auditentry",
            name="error_code",
        ),
        migrations.RemoveField(
            model_name="auditentry",
            name="error_detail",
        ),
        migrations.RemoveField(
            model_name="auditentry",
            name="outcome",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditoutcome",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="20dc633af9cd35222ac7bebf97d1f360b980f19f",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_append_only_8c9cc",
                    table="staff_auditoutcome",
                    when="BEFORE",
                ),
            ),
        ),
    ]
