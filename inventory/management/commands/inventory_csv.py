"""``manage.py inventory_csv import|export catalog|stock [FILE]`` (FILE defaults to stdin/stdout)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from inventory import csv_io


class Command(BaseCommand):
    help = "Import or export the catalog or stock levels as CSV. Imports are validated first and all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("kind", choices=["catalog", "stock"])
        parser.add_argument("file", nargs="?", default="-")

    def handle(self, *args, action, kind, file, **options):
        if action == "export":
            text = csv_io.catalog_export_csv() if kind == "catalog" else csv_io.stock_export_csv()
            if file == "-":
                self.stdout.write(text, ending="")
            else:
                with open(file, "w", encoding="utf-8", newline="") as fh:
                    fh.write(text)
                self.stdout.write(f"wrote {file}")
            return
        if file == "-":
            text = sys.stdin.read()
        else:
            with open(file, encoding="utf-8-sig") as fh:
                text = fh.read()
        try:
            result = csv_io.catalog_import_csv(text=text) if kind == "catalog" else csv_io.stock_import_csv(text=text)
        except csv_io.CsvImportError as exc:
            raise CommandError("nothing was imported:\n" + "\n".join(exc.errors)) from None
        self.stdout.write(f"imported {kind}: {result}")
