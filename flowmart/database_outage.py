"""A dropped database connection is not a 500 (docs/operations.md §Database connection lost).

PostgreSQL can drop a connection under a request at any time: a failover, a restart, an
administrator's ``pg_terminate_backend``, a network cut. Django then raises ``OperationalError``
or ``InterfaceError`` from whatever query was running, and the connection stays dead for the rest
of the request. What happens next:

* **Retried, when nothing was written yet.** ``DatabaseOutageMiddleware``
  (``flowmart/database_outage_middleware.py``) watches the statements
  of each request; if the connection is lost before any write statement succeeded, nothing can
  have been committed, so it reconnects and runs the view once more. Reads (catalog, basket,
  order pages) and a write that failed on its first statement answer normally.
* **Otherwise a clear 503**, never a guess: the API answers the problem ``database_unavailable``
  with ``Retry-After``; the storefront shows a friendly page (``503.html``) with the same header.
  Work that had begun is not lost: a checkout's saga holds a lease and ``sweep_stuck_sagas_task``
  finishes it; the 503 forgets the request's ``Idempotency-Key`` like any 5xx, so a retry runs again.

In every case the dead connection is closed, so the rest of the request (forgetting an
idempotency key, saving the session) runs on a fresh one.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.template.loader import render_to_string

from flowmart.errors import FlowMartError

RETRY_AFTER_SECONDS = 5
# SQLSTATE classes of a lost connection: 08 connection exception, 57P01-03 server shut down / terminated.
_LOST_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE", "CREATE", "ALTER", "DROP")


class DatabaseUnavailable(FlowMartError):
    code = "database_unavailable"
    status = 503
    title = "Database connection lost"


def connection_lost(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database connection dropped (not a constraint, a deadlock or bad SQL)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith(_LOST_CONNECTION_STATES)


def connections_reset() -> None:
    """Close every connection that is dead, so the next query of this request reconnects."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            connection.close()


def database_unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable(
        "We lost the connection to our database for a moment. Nothing you sent is lost: please try again "
        "in a few seconds (with the same Idempotency-Key, where you sent one).",
        retry_after=RETRY_AFTER_SECONDS,
    )


class WriteWatch:
    """An execute wrapper noting whether a write statement has succeeded on this request's connection."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.wrote and str(sql).lstrip().upper().startswith(_WRITE_VERBS):
            self.wrote = True
        return result


def storefront_outage_page() -> HttpResponse:
    """The friendly storefront page for a lost connection (503, ``Retry-After``)."""
    context = {"retry_after": RETRY_AFTER_SECONDS, "SHOP_NAME": settings.SHOP_NAME}
    response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def uncaught_connection_loss() -> bool:
    """In a 500 handler: whether the exception being handled is a lost connection."""
    return connection_lost(sys.exc_info()[1])
