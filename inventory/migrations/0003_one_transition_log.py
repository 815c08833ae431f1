"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def actor_from_by(apps, schema_editor):
    """Rows written before the log had an actor: say who acted from who they were (no user: system)."""
    for name in ("reservationtransition",):
        log = apps.get_model("inventory", name)
        log.objects.filter(by__isnull=False, by__is_staff=True).update(actor="staff")
        log.objects.filter(by__isnull=False, by__is_staff=False).update(actor="customer")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_product_image_url_may_be_a_path"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="reservationtransition", old_name="source", new_name="from_state"),
        migrations.RenameField(model_name="reservationtransition", old_name="target", new_name="to_state"),
        migrations.AddField(
            model_name="reservationtransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AddField(
            model_name="reservationtransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
        migrations.AlterField(
            model_name="reservationtransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="reservationtransition",
            name="by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="reservationtransition",
            name="from_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="reservationtransition",
            name="reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="reservationtransition",
            name="to_state",
            field=models.CharField(max_length=32),
        ),
        migrations.RunPython(actor_from_by, migrations.RunPython.noop),
    ]
