"""Guard for calls that leave the process (card gateway, carrier, SMS/email provider).

docs/architecture.md §Transactions: no database transaction is held open across a network call — it
would hold row locks for as long as the remote side takes, and a commit that
fails afterwards would leave money moved or a label bought with no record of
it. Adapters call ``assert_no_transaction`` before every outbound request, so
a caller that forgets fails loudly in tests instead of slowly in production.
"""

from __future__ import annotations

from django.db import connection


class NetworkCallInTransaction(RuntimeError):
    pass


def in_transaction() -> bool:
    """A transaction of ours is open (the test runner's wrapping transaction does not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def assert_no_transaction(what: str) -> None:
    if in_transaction():
        raise NetworkCallInTransaction(f"{what} must not be called inside a database transaction")
