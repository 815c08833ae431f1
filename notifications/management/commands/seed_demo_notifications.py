from django.core.management.base import BaseCommand

from notifications.demo import notifications_demo_ensure


class Command(BaseCommand):
    help = "Give the demo customer a phone number and a sandbox push device (idempotent)."

    def handle(self, *args, **options):
        for line in notifications_demo_ensure():
            self.stdout.write(line)
