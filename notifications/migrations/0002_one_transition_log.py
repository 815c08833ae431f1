"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

from django.db import migrations

from flowmart.log_migrations import actor_from_by, to_transition_log


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        *to_transition_log(
            "notificationtransition",
            add=("actor", "transition"),
            alter=("at", "from_state", "to_state"),
        ),
        actor_from_by("notifications", "notificationtransition"),
    ]
