"""A membership's plan changes, card updates and cancellations scheduled or withdrawn were logged as
transitions that changed nothing (the state stays): they become notes (``SubscriptionNote``, the
transition's name as their kind); back again on the way down."""

from django.conf import settings
from django.db import migrations

from flowmart.log_migrations import create_note_log
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
        create_note_log(
            "SubscriptionNote",
            aggregate="subscription",
            to="subscriptions.subscription",
            kinds=[
                ("change_plan", "Plan changed"),
                ("update_payment_method", "Payment method updated"),
                ("schedule_cancel", "Cancellation scheduled"),
                ("keep", "Scheduled cancellation withdrawn"),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
