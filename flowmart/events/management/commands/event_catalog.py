import json

from django.core.management.base import BaseCommand

from flowmart.events import selectors


class Command(BaseCommand):
    help = "Export the event catalog (every event, its producer, consumers and payload schema)."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["markdown", "json"], default="markdown")
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, format, output, **options):
        if format == "json":
            text = json.dumps(selectors.event_catalog(), indent=2) + "\n"
        else:
            text = selectors.event_catalog_markdown()
        if output:
            with open(output, "w") as fh:
                fh.write(text)
            self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
        else:
            self.stdout.write(text, ending="")
