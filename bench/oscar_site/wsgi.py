"""The sandbox's WSGI application, and on request the number of SQL statements each request sent.

A request with the header ``X-Bench-Count-SQL: 1`` gets the count in the response header ``X-Bench-SQL``
(every statement on the default connection while Django handled it: the view, middleware, session save and
the commit of ``ATOMIC_REQUESTS``). Other requests pay one dictionary look-up.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from statement_counter import StatementCounter  # noqa: E402  (bench/ is on PYTHONPATH)

django_application = get_wsgi_application()


def application(environ, start_response):
    if environ.get("HTTP_X_BENCH_COUNT_SQL") != "1":
        return django_application(environ, start_response)
    counter = StatementCounter()

    def counted_start_response(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Bench-SQL", str(counter.count))], exc_info)

    with connection.execute_wrapper(counter):
        return django_application(environ, counted_start_response)
