from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inventory.demo_catalog import demo_catalog_ensure


class Command(BaseCommand):
    help = "Create the demo catalog, warehouses and stock (idempotent; refused in production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo is for development and demos only.")
        self.stdout.write(f"inventory demo catalog: {demo_catalog_ensure()}")
