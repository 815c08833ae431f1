"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_refunds"),
    ]

    operations = [
        migrations.RenameField(model_name="ordertransition", old_name="from_status", new_name="from_state"),
        migrations.RenameField(model_name="ordertransition", old_name="to_status", new_name="to_state"),
        migrations.AlterField(
            model_name="ordertransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AlterField(
            model_name="ordertransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="ordertransition",
            name="from_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="ordertransition",
            name="to_state",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="ordertransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
    ]
