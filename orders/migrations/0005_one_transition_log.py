"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

from django.db import migrations

from flowmart.log_migrations import to_transition_log


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_refunds"),
    ]

    operations = [
        *to_transition_log(
            "ordertransition",
            renames={"from_status": "from_state", "to_status": "to_state"},
            alter=("actor", "at", "from_state", "to_state", "transition"),
        ),
    ]
