"""A payment's notable steps that left its state as it was (refund requested, approved, rejected, failed;
a refund or a chargeback on a payment that could not move) were logged as transitions from a state to
itself: they become notes (``PaymentNote``, with their amount); back again on the way down.

The FSM's own ``refund`` of a partially refunded payment stays partially refunded: that row is a
transition and stays one."""

from django.conf import settings
from django.db import migrations, models

from flowmart.log_migrations import create_note_log
from flowmart.note_moves import notes_to_transitions, transitions_to_notes

LOGS = {
    "transitions": "PaymentTransition",
    "notes": "PaymentNote",
    "aggregate": "payment",
    "columns": ("amount_minor",),
}
REFUNDABLE_STATES = ("captured", "partially_refunded")
KINDS_BY_REASON = [  # the reasons the services wrote, first match wins
    ("Refund requested", "refund_requested"),
    ("Refund approved", "refund_approved"),
    ("Refund rejected", "refund_rejected"),
    ("Refund failed", "refund_failed"),
    ("Refunded:", "refunded"),
    ("Chargeback opened", "chargeback_opened"),
    ("Chargeback ", "chargeback_resolved"),  # "Chargeback won" / "Chargeback lost"
]


def kind_of(row) -> str | None:
    if row.reason.startswith("Refunded:") and row.to_state in REFUNDABLE_STATES:
        return None  # the refund transition ran (partially_refunded → partially_refunded)
    return next((kind for prefix, kind in KINDS_BY_REASON if row.reason.startswith(prefix)), None)


def forwards(apps, schema_editor):
    transitions_to_notes(apps, "payments", **LOGS, kind_of=kind_of)


def backwards(apps, schema_editor):
    notes_to_transitions(apps, "payments", **LOGS, transition_of=lambda n: "")  # payments' rows had no name


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_one_transition_log"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        create_note_log(
            "PaymentNote",
            aggregate="payment",
            to="payments.payment",
            kinds=[
                ("refund_requested", "Refund requested"),
                ("refund_approved", "Refund approved"),
                ("refund_rejected", "Refund rejected"),
                ("refund_failed", "Refund failed"),
                ("refunded", "Refunded"),
                ("chargeback_opened", "Chargeback opened"),
                ("chargeback_resolved", "Chargeback resolved"),
            ],
            extra=(("amount_minor", models.BigIntegerField(blank=True, null=True)),),
        ),
        migrations.RunPython(forwards, backwards),
    ]
