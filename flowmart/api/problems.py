"""RFC 9457 problem details: the one error shape of the API.

    {"type": "urn:flowmart:problem:insufficient_stock", "title": "...", "status": 409,
     "detail": "...", "code": "insufficient_stock", "errors": {"field": ["message"]}}

DRF's exceptions, our ``FlowMartError`` family and anything unexpected all
leave through here; Django-level 404/500 under ``/api/`` use the same shape.
"""

from __future__ import annotations

from http import HTTPStatus

import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from flowmart.database_outage import (
    connection_lost,
    connections_reset,
    database_unavailable,
    storefront_outage_page,
    uncaught_connection_loss,
)
from flowmart.errors import FlowMartError, error_code_declare

log = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The codes DRF's own exceptions reach the client with (their ``default_code``). NotAuthenticated is a 401
# because the first authentication class answers with a ``WWW-Authenticate: Bearer`` challenge.
for _drf_error, _meaning in (
    (exceptions.ValidationError, "One or more fields are invalid; `errors` names them"),
    (exceptions.ParseError, "The body is not valid JSON"),
    (exceptions.AuthenticationFailed, "The credentials or token are not valid"),
    (exceptions.NotAuthenticated, "Sign in first (a session or a bearer token)"),
    (exceptions.PermissionDenied, "The caller may not do that"),
    (exceptions.NotFound, "No such resource"),
    (exceptions.MethodNotAllowed, "The endpoint does not accept that HTTP method"),
    (exceptions.NotAcceptable, "The Accept header asks for a format the API does not serve"),
    (exceptions.UnsupportedMediaType, "The body's Content-Type is not accepted"),
    (exceptions.Throttled, "Too many requests; `retry_after` says how many seconds to wait"),
):
    error_code_declare(
        _drf_error.default_code,
        status=_drf_error.status_code,
        meaning=_meaning,
        declared_by=f"rest_framework.exceptions.{_drf_error.__name__}",
    )
error_code_declare("bad_request", status=400, meaning="The request could not be understood", declared_by=__name__)
error_code_declare(
    "request_too_large",
    status=413,
    meaning="The request body is larger than the API accepts (DATA_UPLOAD_MAX_MEMORY_SIZE)",
    declared_by=__name__,
)
error_code_declare("server_error", status=500, meaning="Something went wrong on our side", declared_by=__name__)


def problem_body(*, status_code: int, code: str, title: str, detail: str, errors: dict | None = None, **extra) -> dict:
    body = {
        "type": f"urn:flowmart:problem:{code}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _error_body(exc: FlowMartError) -> dict:
    return problem_body(status_code=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **exc.extra)


def _with_retry_after(response, exc: FlowMartError):
    """An error that says when to come back (``retry_after`` seconds) says it in the header too."""
    if "retry_after" in exc.extra:
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


def _field_errors(data) -> dict:
    """Flatten DRF's nested error structure to {"field" or "field.sub": [messages]}."""
    flat: dict[str, list[str]] = {}

    def walk(value, prefix):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                flat.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for i, v in enumerate(value):
                    walk(v, f"{prefix}.{i}" if prefix else str(i))
        else:
            flat.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk(data, "")
    return flat


def _detail_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def problem_exception_handler(exc, context):
    if connection_lost(exc):
        connections_reset()  # the rest of the request (idempotency key, session) runs on a fresh connection
        response = problem_exception_handler(database_unavailable(), context)
        response.database_connection_lost = True  # DatabaseOutageMiddleware may run a request that wrote nothing again
        return response
    if isinstance(exc, FlowMartError):
        return _with_retry_after(Response(_error_body(exc), status=exc.status, content_type=PROBLEM_CONTENT_TYPE), exc)

    if isinstance(exc, RequestDataTooBig):
        body = problem_body(
            status_code=413,
            code="request_too_large",
            title=status_title(413),
            detail=f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        )
        return Response(body, status=413, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        log.exception("unhandled API error", exc_info=exc)
        body = problem_body(
            status_code=500,
            code="server_error",
            title="Internal server error",
            detail="Something went wrong on our side. It has been logged; please try again.",
        )
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)

    if isinstance(exc, exceptions.ValidationError):
        body = problem_body(
            status_code=response.status_code,
            code="invalid",
            title="Invalid request",
            detail="One or more fields are invalid.",
            errors=_field_errors(response.data),
        )
    else:
        code = _detail_code(exc) if isinstance(exc, exceptions.APIException) else "error"
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        body = problem_body(
            status_code=response.status_code,
            code=str(code),
            title=status_title(response.status_code),
            detail=str(detail),
        )
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def status_title(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _problem_response(status_code: int, code: str, detail: str) -> JsonResponse:
    body = problem_body(status_code=status_code, code=code, title=status_title(status_code), detail=detail)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def page_not_found(request, exception=None):
    if _is_api(request):
        return _problem_response(status.HTTP_404_NOT_FOUND, "not_found", "No such resource.")
    return render(request, "404.html", status=404)


def database_outage_response(request):
    """503 for a request that lost its database connection after writing: a problem under /api/, else a page."""
    connections_reset()
    if _is_api(request):
        error = database_unavailable()
        response = JsonResponse(_error_body(error), status=error.status, content_type=PROBLEM_CONTENT_TYPE)
        return _with_retry_after(response, error)
    return storefront_outage_page()


def server_error(request):
    if uncaught_connection_loss():  # raised outside a view (a middleware): still not a 500
        return database_outage_response(request)
    if _is_api(request):
        return _problem_response(500, "server_error", "Something went wrong on our side. Please try again.")
    return render(request, "500.html", status=500)


def permission_denied(request, exception=None):
    if _is_api(request):
        return _problem_response(403, "permission_denied", "You do not have permission to do that.")
    return render(request, "403.html", status=403)


def bad_request(request, exception=None):
    if _is_api(request):
        return _problem_response(400, "bad_request", "The request could not be understood.")
    return render(request, "400.html", status=400)


class ApiNotFoundMiddleware:
    """An unknown path under ``/api/`` answers a problem document with ``DEBUG`` on too.

    ``handler404`` already does in production, but with ``DEBUG`` Django answers a URL that resolves to
    nothing with its HTML debug page, which an app cannot read. Listed after ``CommonMiddleware`` so that
    still sees the 404 (and redirects a path missing its trailing slash)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and _is_api(request)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return page_not_found(request)
        return response
