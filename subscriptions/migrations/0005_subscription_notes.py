"""A membership's plan changes, card updates and cancellations scheduled or withdrawn were logged as
transitions that changed nothing (the state stays): they become notes (``SubscriptionNote``, the
transition's name as their kind); back again on the way down."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from flowmart.note_moves import notes_to_transitions, transitions_to_notes

LOGS = {"transitions": "SubscriptionTransition", "notes": "SubscriptionNote", "aggregate": "subscription"}
NOTE_KINDS = ("change_plan", "update_payment_method", "schedule_cancel", "keep")


def forwards(apps, schema_editor):
    transitions_to_notes(
        apps, "subscriptions", **LOGS, kind_of=lambda t: t.transition if t.transition in NOTE_KINDS else None
    )


def backwards(apps, schema_editor):
    notes_to_transitions(apps, "subscriptions", **LOGS, transition_of=lambda n: n.kind)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_one_transition_log"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SubscriptionNote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("state", models.CharField(help_text="the state it was in when this happened", max_length=32)),
                (
                    "actor",
                    models.CharField(default="system", help_text="system, customer, staff or carrier", max_length=32),
                ),
                ("text", models.CharField(blank=True, max_length=500)),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("change_plan", "Plan changed"),
                            ("update_payment_method", "Payment method updated"),
                            ("schedule_cancel", "Cancellation scheduled"),
                            ("keep", "Scheduled cancellation withdrawn"),
                        ],
                        max_length=40,
                    ),
                ),
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
                    "subscription",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notes",
                        to="subscriptions.subscription",
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.RunPython(forwards, backwards),
    ]
