"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

from django.db import migrations

from flowmart.log_migrations import to_transition_log


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0001_initial"),
    ]

    operations = [
        *to_transition_log(
            "returntransition",
            add=("transition",),
            alter=("actor", "at", "reason"),
        ),
        *to_transition_log(
            "shipmenttransition",
            add=("transition",),
            alter=("actor", "at", "reason"),
        ),
    ]
