"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

from django.db import migrations

from flowmart.log_migrations import actor_from_by, to_transition_log


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_billing_anchor_day"),
    ]

    operations = [
        *to_transition_log(
            "subscriptiontransition",
            renames={"name": "transition", "created_at": "at"},
            ordered=True,
            add=("actor",),
            alter=("at", "from_state", "reason", "to_state", "transition"),
        ),
        *to_transition_log(
            "invoicetransition",
            renames={"name": "transition", "created_at": "at"},
            ordered=True,
            add=("actor",),
            alter=("at", "from_state", "reason", "to_state", "transition"),
        ),
        actor_from_by("subscriptions", "subscriptiontransition", "invoicetransition"),
    ]
