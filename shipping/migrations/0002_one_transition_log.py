"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="returntransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
        migrations.AddField(
            model_name="shipmenttransition",
            name="transition",
            field=models.CharField(blank=True, help_text="the transition method's name", max_length=40),
        ),
        migrations.AlterField(
            model_name="returntransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AlterField(
            model_name="returntransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="returntransition",
            name="reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="shipmenttransition",
            name="actor",
            field=models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
        ),
        migrations.AlterField(
            model_name="shipmenttransition",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="shipmenttransition",
            name="reason",
            field=models.CharField(blank=True, max_length=500),
        ),
    ]
