import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowmart.events import selectors


class Command(BaseCommand):
    help = (
        "Export the event catalog (every event, its producer, consumers and payload schema): markdown or JSON to "
        "stdout/--output, or an EventCatalog project (domains, services, events with schemas, flows) into OUT/."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", nargs="?", help="--format eventcatalog: the project directory to write")
        parser.add_argument("--format", choices=["markdown", "json", "eventcatalog"], default="markdown")
        parser.add_argument("--output", "-o", help="markdown/json: write to this file instead of stdout")

    def handle(self, *args, out, format, output, **options):
        if format == "eventcatalog":
            from flowmart.events.eventcatalog import CatalogMismatch, write_eventcatalog

            if not out:
                raise CommandError(
                    "--format eventcatalog needs the directory to write: event_catalog --format eventcatalog OUT/"
                )
            try:
                written = write_eventcatalog(Path(out))
            except CatalogMismatch as exc:
                raise CommandError(f"a declared flow disagrees with the handlers: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"Wrote an EventCatalog project ({len(written)} files) to {out}"))
            return
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
