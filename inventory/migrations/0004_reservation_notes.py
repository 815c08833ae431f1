"""A reservation's amendments were logged as transitions that changed nothing (active → active): they
become notes (``ReservationNote``); back again on the way down."""

from django.conf import settings
from django.db import migrations

from flowmart.log_migrations import create_note_log
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
        create_note_log(
            "ReservationNote",
            aggregate="reservation",
            to="inventory.reservation",
            kinds=[("amend", "Amended")],
        ),
        migrations.RunPython(forwards, backwards),
    ]
