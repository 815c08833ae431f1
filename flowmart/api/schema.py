"""What the OpenAPI schema says about errors: every endpoint answers them as RFC 9457 problem documents
(``flowmart.api.problems`` writes them); views list theirs with ``problem(...)``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


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
