from django.core.management.base import BaseCommand

from flowmart.api.error_catalogue import error_catalogue_markdown


class Command(BaseCommand):
    help = "Print the catalogue of API error codes (code, HTTP status, meaning) as Markdown."

    def handle(self, *args, **options):
        self.stdout.write(error_catalogue_markdown(), ending="")
