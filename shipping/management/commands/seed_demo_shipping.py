from django.conf import settings
from django.core.management.base import BaseCommand

from shipping.demo import seed_demo_shipping


class Command(BaseCommand):
    help = "Create (or refresh) the demo shipping zones US/EU/UK/rest, methods and weight-band rates."

    def handle(self, *args, **options):
        counts = seed_demo_shipping(currency=settings.SHOP_CURRENCY)
        self.stdout.write(f"shipping: {counts['zones']} zones, {counts['methods']} methods, {counts['rates']} rates")
