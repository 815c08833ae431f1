from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowmart import backups


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into an empty database (checksums verified first)."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the backup directory (flowmart-<time>), or 'latest' in BACKUP_DIR")
        parser.add_argument("--database-url", help="restore into this database instead of DATABASE_URL's")
        parser.add_argument("--force", action="store_true", help="replace what a non-empty database holds")
        parser.add_argument("--no-media", action="store_true", help="leave MEDIA_ROOT alone")
        parser.add_argument("--verify-only", action="store_true", help="only check the checksums")

    def handle(self, *args, backup, database_url, force, no_media, verify_only, **options):
        from django.conf import settings

        if backup == "latest":
            found = backups.backups_in(Path(settings.BACKUP_DIR))
            if not found:
                raise CommandError(f"no backup in {settings.BACKUP_DIR}")
            archive = found[0]
        else:
            archive = Path(backup)
        try:
            if verify_only:
                manifest = backups.backup_verify(archive)
                self.stdout.write(self.style.SUCCESS(f"{archive}: checksums match ({manifest['created_at']})"))
                return
            database = backups.Database.from_url(database_url) if database_url else None
            manifest = backups.backup_restore(archive=archive, database=database, force=force, media=not no_media)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Restored {archive} (made {manifest['created_at']}, {len(manifest['tables'])} tables)")
        )
