"""Amendments and resolved refund issues were logged as transitions that changed nothing (from == to):
they become notes; the history shows both, by time, as before."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

NOTE_KINDS = ("amend", "refund_issue_resolved")


def transitions_to_notes(apps, schema_editor):
    OrderTransition = apps.get_model("orders", "OrderTransition")
    OrderNote = apps.get_model("orders", "OrderNote")
    rows = OrderTransition.objects.filter(transition__in=NOTE_KINDS, from_state=models.F("to_state"))
    OrderNote.objects.bulk_create(
        OrderNote(
            order_id=t.order_id,
            kind=t.transition,
            status=t.to_state,
            actor=t.actor,
            by_id=t.by_id,
            text=t.reason,
            at=t.at,
        )
        for t in rows.order_by("id")
    )
    rows.delete()


def notes_to_transitions(apps, schema_editor):
    OrderTransition = apps.get_model("orders", "OrderTransition")
    OrderNote = apps.get_model("orders", "OrderNote")
    OrderTransition.objects.bulk_create(
        OrderTransition(
            order_id=n.order_id,
            transition=n.kind,
            from_state=n.status,
            to_state=n.status,
            actor=n.actor,
            by_id=n.by_id,
            reason=n.text,
            at=n.at,
        )
        for n in OrderNote.objects.order_by("id")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_one_transition_log"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderNote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("amend", "Amended"), ("refund_issue_resolved", "Refund issue resolved")],
                        max_length=32,
                    ),
                ),
                ("status", models.CharField(help_text="the order's status when this happened", max_length=16)),
                ("actor", models.CharField(default="system", help_text="system, customer or staff", max_length=16)),
                ("text", models.CharField(blank=True, max_length=500)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
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
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="notes", to="orders.order"
                    ),
                ),
            ],
        ),
        migrations.RunPython(transitions_to_notes, notes_to_transitions),
    ]
