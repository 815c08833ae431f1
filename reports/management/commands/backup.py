from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowmart import backups


class Command(BaseCommand):
    help = "Back up the database (pg_dump custom format) and MEDIA_ROOT, with checksums; keep the newest N."

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="where backups go (default: BACKUP_DIR)")
        parser.add_argument("--keep", type=int, help="how many of the newest backups to keep (default: BACKUP_KEEP)")

    def handle(self, *args, dir, keep, **options):
        try:
            result = backups.backup_create(directory=Path(dir) if dir else None, keep=keep)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(result.archive))
        rows = sum(result.tables.values())
        self.stderr.write(
            self.style.SUCCESS(f"Backed up {len(result.tables)} tables ({rows} rows) to {result.archive}")
        )
        for old in result.removed:
            self.stderr.write(f"Removed old backup {old}")
