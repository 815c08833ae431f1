import sys

from django.core.management.base import BaseCommand

from flowmart.csv_export import csv_write
from reports.exports import EXPORTS


class Command(BaseCommand):
    help = "Write one CSV export (streamed: rows are read in chunks through a server-side cursor)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(EXPORTS))
        parser.add_argument("--out", "-o", help="write to this file instead of stdout")

    def handle(self, *args, kind, out, **options):
        export = EXPORTS[kind]()
        if out:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                count = csv_write(fh, header=export.header, rows=export.rows)
            self.stderr.write(self.style.SUCCESS(f"Wrote {count} rows to {out}"))
        else:
            csv_write(sys.stdout, header=export.header, rows=export.rows)
