"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

import django.utils.timezone
from django.db import migrations, models


def actor_from_by(apps, schema_editor):
    """Rows written before the log had an actor: say who acted from who they were (no user: system)."""
    for name in ("paymenttransition",):
        log = apps.get_model("payments", name)
        log.objects.filter(by__isnull=False, by__is_staff=True).update(actor="staff")
        log.objects.filter(by__isnull=False, by__is_staff=False).update(actor="customer")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_finance_group"),
    ]

    operations = [
        migrations.RenameField(model_name="paymenttransition", old_name="from_status", new_name="from_state"),
        migrations.RenameField(model_name="paymenttransition", old_name="to_status", new_name="to_state"),
        migrations.RenameField(model_name="paymenttransition", old_name="created_at", new_name="at"),
        migrations.AlterModelOptions(
            name="paymenttransition",
            options={"ordering": ["at", "id"]},
        ),
        migrations.AddField(
            model_name="paymenttransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AddField(
            model_name="paymenttransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
        migrations.AlterField(
            model_name="paymenttransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="paymenttransition",
            name="from_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="paymenttransition",
            name="reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="paymenttransition",
            name="to_state",
            field=models.CharField(max_length=32),
        ),
        migrations.RunPython(actor_from_by, migrations.RunPython.noop),
    ]
