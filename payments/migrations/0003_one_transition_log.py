"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

from django.db import migrations

from flowmart.log_migrations import actor_from_by, to_transition_log


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_finance_group"),
    ]

    operations = [
        *to_transition_log(
            "paymenttransition",
            renames={"from_status": "from_state", "to_status": "to_state", "created_at": "at"},
            ordered=True,
            add=("actor", "transition"),
            alter=("at", "from_state", "reason", "to_state"),
        ),
        actor_from_by("payments", "paymenttransition"),
    ]
