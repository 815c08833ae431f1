"""``DatabaseOutageMiddleware``: retry a request that lost its database connection before writing.

See ``flowmart/database_outage.py`` for the policy. Near the end of ``MIDDLEWARE``: it calls the view
itself (``process_view``), after every other middleware's checks (CSRF included) have run; only the model-history
middleware, which has no ``process_view``, comes after it (see ``settings.MIDDLEWARE``).
"""

from __future__ import annotations

import structlog
from django.db import connections

from flowmart.api.problems import database_outage_response
from flowmart.database_outage import WriteWatch, connection_lost, connections_reset

log = structlog.get_logger(__name__)


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.database_writes = watch = WriteWatch()
        with connections["default"].execute_wrapper(watch):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Run the view; if it lost the connection before any write, reconnect and run it once more.

        (Django does not pass exceptions raised here to ``process_exception``: they are answered here.)
        """
        for attempt in (1, 2):
            try:
                response = view_func(request, *view_args, **view_kwargs)
            except Exception as exc:
                if not connection_lost(exc):
                    raise
                if attempt == 2 or request.database_writes.wrote:
                    return self.process_exception(request, exc)
            else:
                lost = getattr(response, "database_connection_lost", False)  # a DRF view answered the problem
                if not lost or attempt == 2 or request.database_writes.wrote:
                    return response
            log.warning("database connection lost before any write; running the request again", path=request.path)
            connections_reset()
        raise AssertionError("unreachable")

    def process_exception(self, request, exception):
        if not connection_lost(exception):
            return None
        log.warning("database connection lost after a write; answering 503", path=request.path, error=repr(exception))
        return database_outage_response(request)
