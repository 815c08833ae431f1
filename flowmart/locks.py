"""PostgreSQL advisory locks: serialize work on a key that has no row to lock (yet)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def advisory_xact_lock(namespace: int, key: str) -> None:
    """Wait for, then hold until the current transaction ends, the lock ``(namespace, hashtext(key))``.

    Each app owns its namespace numbers (inventory 7301, back-in-stock 7402, …) so keys never collide."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [namespace, key])


# An order and its parcels: orders holds it for an amendment, a hold or a cancel (across the calls to
# inventory, payments and the carrier), shipping while it buys a label and when it records a dispatch.
ORDER_NAMESPACE = 7501


@contextmanager
def advisory_session_lock(namespace: int, key: str) -> Iterator[None]:
    """Wait for, then hold until the block ends, the lock ``(namespace, hashtext(key))`` on this connection.

    Unlike ``advisory_xact_lock`` it needs no transaction, so it can be held across a network call (where no
    transaction may be open); it is released when the block ends, or with the connection if the process dies.
    Blocks on one connection nest (PostgreSQL counts them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [namespace, key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [namespace, key])


@contextmanager
def advisory_session_lock_try(namespace: int, key: str) -> Iterator[bool]:
    """Like ``advisory_session_lock`` but does not wait: yields whether the lock was taken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [namespace, key])
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [namespace, key])
