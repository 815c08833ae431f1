"""The transition log takes the kernel's one shape (flowmart.transitions.TransitionLog); rows are kept."""

from django.conf import settings
from django.db import migrations

from flowmart.log_migrations import actor_from_by, to_transition_log


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_product_image_url_may_be_a_path"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        *to_transition_log(
            "reservationtransition",
            renames={"source": "from_state", "target": "to_state"},
            add=("actor", "transition"),
            alter=("at", "by", "from_state", "reason", "to_state"),
        ),
        actor_from_by("inventory", "reservationtransition"),
    ]
