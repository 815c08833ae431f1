from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from subscriptions.demo import demo_plans_ensure


class Command(BaseCommand):
    help = "Create the demo membership tier and plans (FlowMart Plus monthly/yearly). Idempotent; never in production."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is refused in production.")
        for code, created in demo_plans_ensure(currency=settings.SHOP_CURRENCY):
            self.stdout.write(f"{'created' if created else 'kept'} plan {code}")
