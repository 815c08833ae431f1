"""Demo accounts and data for ``make run``. Refuses to run in production."""

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from flowmart.users.demo import demo_accounts_ensure

# Each app ships its own idempotent ``seed_demo*`` command; they run in stack order.
SEED_ORDER = ["inventory", "payments", "shipping", "subscriptions", "orders", "notifications"]


class Command(BaseCommand):
    help = "Create the demo staff and customer accounts and every app's demo data (never in production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("setup_demo creates well-known logins and is refused in production.")
        for email, created in demo_accounts_ensure():
            self.stdout.write(f"{'created' if created else 'kept'} demo account {email}")
        commands = get_commands()
        seeders = sorted(
            (name for name in commands if name.startswith("seed_demo")),
            key=lambda name: SEED_ORDER.index(commands[name]) if commands[name] in SEED_ORDER else len(SEED_ORDER),
        )
        for name in seeders:
            self.stdout.write(f"running {name}")
            call_command(name, stdout=self.stdout, stderr=self.stderr)
