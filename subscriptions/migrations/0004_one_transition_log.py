"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

import django.utils.timezone
from django.db import migrations, models


def actor_from_by(apps, schema_editor):
    """Rows written before the log had an actor: say who acted from who they were (no user: system)."""
    for name in ("subscriptiontransition", "invoicetransition"):
        log = apps.get_model("subscriptions", name)
        log.objects.filter(by__isnull=False, by__is_staff=True).update(actor="staff")
        log.objects.filter(by__isnull=False, by__is_staff=False).update(actor="customer")


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_billing_anchor_day"),
    ]

    operations = [
        migrations.RenameField(model_name="subscriptiontransition", old_name="name", new_name="transition"),
        migrations.RenameField(model_name="invoicetransition", old_name="name", new_name="transition"),
        migrations.RenameField(model_name="subscriptiontransition", old_name="created_at", new_name="at"),
        migrations.RenameField(model_name="invoicetransition", old_name="created_at", new_name="at"),
        migrations.AlterModelOptions(
            name="invoicetransition",
            options={"ordering": ["at", "id"]},
        ),
        migrations.AlterModelOptions(
            name="subscriptiontransition",
            options={"ordering": ["at", "id"]},
        ),
        migrations.AddField(
            model_name="invoicetransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AddField(
            model_name="subscriptiontransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AlterField(
            model_name="invoicetransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="invoicetransition",
            name="from_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="invoicetransition",
            name="reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="invoicetransition",
            name="to_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="invoicetransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
        migrations.AlterField(
            model_name="subscriptiontransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="subscriptiontransition",
            name="from_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="subscriptiontransition",
            name="reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="subscriptiontransition",
            name="to_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="subscriptiontransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
        migrations.RunPython(actor_from_by, migrations.RunPython.noop),
    ]
