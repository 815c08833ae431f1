"""Back up, wipe, restore, compare: ``manage.py backup`` and ``manage.py restore`` against the real server
(the dump over TCP, the restore over its Unix socket, as the embedded PostgreSQL is reached)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from flowmart import backups
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)

SOCKET_DIR = Path("/var/run/postgresql")


def _admin_connection(database: backups.Database) -> psycopg.Connection:
    return backups.Database(name="postgres", host=database.host, port=database.port, user=database.user,
                            password=database.password).connect()  # fmt: skip


@pytest.fixture
def scratch_database():
    """An empty database on the same server, reached by its socket when there is one; dropped afterwards."""
    source = backups.Database.from_settings()
    name = f"{source.name}_restore"
    host = source.host
    if not host.startswith("/") and (SOCKET_DIR / f".s.PGSQL.{source.port or 5432}").exists():
        host = str(SOCKET_DIR)  # a local server over TCP: restore over its socket too (the embedded one has only that)
    target = backups.Database(name=name, host=host, port=source.port, user=source.user, password=source.password)
    with _admin_connection(source) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = f"postgres://{target.user or 'postgres'}@{target.host.replace('/', '%2F')}:{target.port or 5432}/{name}"
    yield target, url
    with _admin_connection(source) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    (tmp_path / "media" / "products").mkdir(parents=True)
    (tmp_path / "media" / "products" / "tee.jpg").write_bytes(b"\xff\xd8 a tee \x00\x01")
    return Path(settings.MEDIA_ROOT)


def _orders(database: backups.Database) -> list[tuple]:
    with database.connect() as conn:
        return conn.execute(
            "SELECT number, status, total_minor, refunded_minor, customer_name FROM orders_order ORDER BY number"
        ).fetchall()


def test_backup_wipe_restore_round_trip(tmp_path, seeded_shop, media_root, scratch_database, capsys):
    target, url = scratch_database
    source = backups.Database.from_settings()
    call_command("backup", "--dir", str(tmp_path / "backups"), "--keep", "3")
    archive = Path(capsys.readouterr().out.strip())
    assert archive.parent == tmp_path / "backups"
    assert sorted(p.name for p in archive.iterdir()) == ["SHA256SUMS", "database.dump", "manifest.json", "media.tar.gz"]
    manifest = json.loads((archive / "manifest.json").read_text())
    assert manifest["tables"]["orders_order"] == 6
    assert manifest["server_major"] == source.server_major()

    (media_root / "products" / "tee.jpg").unlink()  # the media is lost with the database
    call_command("restore", str(archive), "--database-url", url)

    assert target.tables() == source.tables() == manifest["tables"]
    assert (
        _orders(target)
        == _orders(source)
        == sorted(Order.objects.values_list("number", "status", "total_minor", "refunded_minor", "customer_name"))
    )
    assert (media_root / "products" / "tee.jpg").read_bytes() == b"\xff\xd8 a tee \x00\x01"


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    tmp_path, seeded_shop, media_root, scratch_database
):
    target, url = scratch_database
    archive = backups.backup_create(directory=tmp_path / "backups", keep=1).archive
    backups.backup_restore(archive=archive, database=target)

    with pytest.raises(CommandError, match=r"is not empty; restore into an empty one, or use --force"):
        call_command("restore", str(archive), "--database-url", url)

    with target.connect() as conn:
        conn.execute(
            "UPDATE orders_order SET customer_name = %s WHERE number = %s", ["Changed", seeded_shop["a"].number]
        )
    call_command("restore", str(archive), "--database-url", url, "--force")
    assert _orders(target) == _orders(backups.Database.from_settings())


def test_a_damaged_backup_is_refused_before_anything_is_touched(tmp_path, seeded_shop, media_root, scratch_database):
    target, url = scratch_database
    archive = backups.backup_create(directory=tmp_path / "backups", keep=1).archive
    dump = archive / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="database.dump does not match its checksum"):
        call_command("restore", str(archive), "--database-url", url)
    assert target.is_empty()


def test_retention_keeps_the_newest_backups(tmp_path, seeded_shop, media_root):
    directory = tmp_path / "backups"
    made = []
    for day in (1, 2, 3):
        with time_machine.travel(dt.datetime(2026, 3, day, 3, 0, tzinfo=dt.UTC), tick=False):
            made.append(backups.backup_create(directory=directory, keep=2))
    assert [p.name for p in backups.backups_in(directory)] == ["flowmart-20260303T030000Z", "flowmart-20260302T030000Z"]
    assert made[2].removed == [directory / "flowmart-20260301T030000Z"]
    assert sorted(p.name for p in directory.iterdir()) == ["flowmart-20260302T030000Z", "flowmart-20260303T030000Z"]


def test_the_binaries_match_the_server_version(db):
    major = backups.Database.from_settings().server_major()
    pg_dump, pg_restore = backups.pg_binaries(major)
    assert backups._version_of(pg_dump) == major
    assert pg_restore.parent == pg_dump.parent


def test_the_nightly_backup_is_scheduled_only_when_asked(db):
    assert settings.BACKUP_SCHEDULE_HOUR == ""
    assert "reports-nightly-backup" not in settings.CELERY_BEAT_SCHEDULE
