"""What the OpenAPI schema says about errors: every endpoint answers them as RFC 9457 problem documents
(``flowmart.api.problems`` writes them); views list theirs with ``problem(...)``."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated, IsAuthenticatedOrReadOnly


class ProblemOutSerializer(serializers.Serializer):
    """RFC 9457 problem details (documentation only: the kernel's exception handler writes them)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="one of docs/api-errors.md")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def problem(description: str, serializer=ProblemOutSerializer) -> OpenApiResponse:
    """A problem response for ``extend_schema(responses=...)``: ``description`` names the codes."""
    return OpenApiResponse(serializer, description=description)


# -- what every operation can answer besides its own errors -------------------------------------------------
PROBLEM_MEDIA_TYPES = ("application/problem+json",)
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "1 to 255 printable characters, unique per intended operation (a UUID). The first answer (2xx other than "
        "202, or 4xx) is kept for IDEMPOTENCY_KEY_TTL (24 h) and replayed to a retry with the same key "
        "(`Idempotent-Replayed: true`); the same key with another body or path is 422 `idempotency_key_reused`, "
        "a key whose first request is still running 409 `idempotency_key_in_flight`. Optional: without it the "
        "request runs every time it is sent."
    ),
)


def _requires_sign_in(view, method: str) -> bool:
    for permission in view.get_permissions():
        if isinstance(permission, IsAuthenticated) or getattr(permission, "staff_only", False):
            return True
        if isinstance(permission, IsAuthenticatedOrReadOnly) and method not in SAFE_METHODS:
            return True
    return False


class ProblemAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus what the kernel does to every operation, so that a generated client
    knows it: the problem responses each one can answer (RFC 9457, ``application/problem+json``) besides the
    ones its view lists, the ``Idempotency-Key`` header of ``@idempotent`` methods, and tags that set staff and
    webhook endpoints apart from the customer API."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            if parameter["name"] == IDEMPOTENCY_KEY_PARAMETER.name:  # one description, also where a view names it
                parameter["description"] = IDEMPOTENCY_KEY_PARAMETER.description
        # Set apart after the views' own tags: an app generated from the customer tags never sees these.
        if operation is not None and "/webhooks/" in self.path:
            operation["tags"] = ["webhooks"]
        elif operation is not None and (
            self.path.startswith("/api/v1/staff/")
            or any(getattr(p, "staff_only", False) for p in self.view.get_permissions())
        ):
            operation["tags"] = ["staff"]
        return operation

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "honours_idempotency_key", False))

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        named = {getattr(p, "name", None) for p in parameters}
        if self._is_idempotent() and IDEMPOTENCY_KEY_PARAMETER.name not in named:
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        return parameters

    def _has_query_parameters(self) -> bool:
        return any(
            parameter.get("in") == "query"
            for parameter in self._process_override_parameters(direction="request").values()
        )

    def _kernel_problems(self) -> dict[str, str]:
        """status -> the codes the kernel answers with for this operation (its view's own list comes first)."""
        method, has_body = self.method, self.method in ("POST", "PUT", "PATCH")
        problems: dict[str, list[str]] = {}

        def add(status_code: int, code: str) -> None:
            problems.setdefault(str(status_code), []).append(code)

        if has_body:
            add(400, "invalid (errors)")
            add(400, "parse_error")
        if self._get_filter_parameters() or self._get_pagination_parameters() or self._has_query_parameters():
            add(400, "invalid (errors)")
            add(400, "bad_request (a NUL byte in the query string)")
        if self._is_idempotent():
            add(400, "idempotency_key_invalid")
            add(409, "idempotency_key_in_flight")
            add(422, "idempotency_key_reused")
        if _requires_sign_in(self.view, method) and self.view.authentication_classes:
            add(401, "not_authenticated")
            add(401, "authentication_failed (an invalid or expired bearer token)")
        if any(getattr(p, "staff_only", False) for p in self.view.get_permissions()):
            add(403, "permission_denied (staff only)")
        if method not in SAFE_METHODS and any(
            issubclass(a, SessionAuthentication) for a in self.view.authentication_classes
        ):
            add(403, "permission_denied (a session caller without its CSRF token)")
        if "{" in self.path or self._get_pagination_parameters():
            add(404, "not_found" + (" (also a page past the last)" if self._get_pagination_parameters() else ""))
        if has_body:
            add(413, "request_too_large")
            add(415, "unsupported_media_type")
        if self.view.get_throttles():
            add(429, "throttled (retry_after; Retry-After header)")
        add(503, "database_unavailable (retry_after; Retry-After header)")
        return {status: ", ".join(dict.fromkeys(codes)) for status, codes in problems.items()}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code, codes in self._kernel_problems().items():
            if status_code in responses:
                documented = responses[status_code]
                documented["description"] = "; ".join(filter(None, [documented.get("description"), codes]))
                continue
            responses[status_code] = self._get_response_for_code(
                OpenApiResponse(ProblemOutSerializer, description=codes), status_code, PROBLEM_MEDIA_TYPES, direction
            )
        for status_code, response in responses.items():
            # Every error leaves through the problem handler: say so for the ones a view lists itself too.
            if status_code < "400":
                continue
            content = response.setdefault("content", {})
            if "application/json" in content:
                content.setdefault(PROBLEM_MEDIA_TYPES[0], content.pop("application/json"))
            if not content:  # listed without a body (``403: None``): it still answers a problem
                content.update(
                    self._get_response_for_code(ProblemOutSerializer, status_code, PROBLEM_MEDIA_TYPES, direction)[
                        "content"
                    ]
                )
        return dict(sorted(responses.items()))
