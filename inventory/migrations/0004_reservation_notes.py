"""A reservation's amendments were logged as transitions that changed nothing (active → active): they
become notes (``ReservationNote``); back again on the way down."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from flowmart.note_moves import notes_to_transitions, transitions_to_notes

LOGS = {"transitions": "ReservationTransition", "notes": "ReservationNote", "aggregate": "reservation"}


def forwards(apps, schema_editor):
    transitions_to_notes(apps, "inventory", **LOGS, kind_of=lambda t: "amend" if t.reason == "amended" else None)


def backwards(apps, schema_editor):
    notes_to_transitions(apps, "inventory", **LOGS, transition_of=lambda n: "")  # amendments had no name


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_one_transition_log"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReservationNote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("state", models.CharField(help_text="the state it was in when this happened", max_length=32)),
                (
                    "actor",
                    models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
                ),
                ("text", models.CharField(blank=True, max_length=500)),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("kind", models.CharField(choices=[("amend", "Amended")], max_length=40)),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "reservation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="notes", to="inventory.reservation"
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.RunPython(forwards, backwards),
    ]
