"""Inputs no view can use, refused before any view runs them into the database.

PostgreSQL text cannot hold a NUL byte: a ``%00`` in a path (every ``<str:...>`` route looks its value
up) or in the query string would surface as a ``DataError`` 500. A path with one names nothing (404); a
query string with one cannot be understood by the API (400 problem). Storefront pages clean their own
query input (the search page strips NUL and answers), so only the path is guarded for them.
"""

from __future__ import annotations

from flowmart.api import problems

NUL = "\x00"


class NulByteMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path:
            return problems.page_not_found(request)
        if request.path.startswith("/api/") and any(
            NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists()
        ):
            return problems.bad_request(request)
        return self.get_response(request)
