"""The test database as a child process or an admin connection reaches it: over TCP, or through the unix
socket of the embedded PostgreSQL that `make test` starts (its host is a directory)."""

from __future__ import annotations

from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection


def database_url(name: str | None = None) -> str:
    """A ``DATABASE_URL`` for the test database (or database ``name`` on the same server)."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{quote(db['USER'] or 'postgres', safe='')}{password}@{quote(host, safe='')}{port}/{name or db['NAME']}"


def admin_connect() -> psycopg.Connection:
    """An autocommit connection to the server's ``postgres`` database (to terminate backends of ours).

    ``bench/faults.py`` calls it before Django is set up: its server is the one on 127.0.0.1:5432."""
    db = connection.settings_dict if settings.configured else {}
    return psycopg.connect(
        dbname="postgres",
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        autocommit=True,
    )
