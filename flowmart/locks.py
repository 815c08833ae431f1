"""PostgreSQL advisory locks: serialize work on a key that has no row to lock (yet)."""

from __future__ import annotations

from django.db import connection


def advisory_xact_lock(namespace: int, key: str) -> None:
    """Wait for, then hold until the current transaction ends, the lock ``(namespace, hashtext(key))``.

    Each app owns its namespace numbers (inventory 7301, back-in-stock 7402, …) so keys never collide."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [namespace, key])
