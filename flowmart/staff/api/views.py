"""The staff API's kernel: the view every staff action endpoint is (``StaffActionView``), and the audit log.

An app's staff endpoints live in ``<app>/api/staff_views.py`` and are mounted under ``/api/v1/staff/`` by
``flowmart/api/staff_urls.py``. A staff action endpoint is a subclass naming the action and how to find the
object (404 when there is none) and how to show it afterwards; the body is the action's form as JSON.
"""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.schema import problem
from flowmart.staff import selectors
from flowmart.staff.actions import StaffAction, request_client_ip, staff_action_get, staff_action_perform
from flowmart.staff.api.permissions import StaffActionPermission
from flowmart.staff.api.serializers import AuditEntryOutSerializer, action_input_serializer

# The problems every staff read may answer, and every staff action endpoint, for extend_schema(responses=...).
STAFF_READ_PROBLEMS = {401: problem("not_authenticated"), 403: problem("permission_denied")}
STAFF_ACTION_PROBLEMS = {
    400: problem("invalid (errors: the action's fields)"),
    401: problem("not_authenticated"),
    403: problem("permission_denied: a customer, or a staff role without the action's permission"),
    404: problem("not_found"),
    409: problem("the service refuses the action in the object's state (its own code, e.g. invalid_transition)"),
}


class StaffActionView(APIView):
    """POST runs ``staff_action`` on the object ``get_object(**url kwargs)`` finds; answers ``render(obj)``."""

    permission_classes = [StaffActionPermission]
    staff_action = ""

    def get_object(self, **kwargs):
        raise NotImplementedError

    def render(self, obj) -> dict:
        raise NotImplementedError

    def action_data(self, request) -> dict:
        """The action's input from the JSON body (a subclass may add to it, e.g. from a header)."""
        return dict(request.data) if hasattr(request.data, "items") else {}

    def post(self, request, **kwargs):
        action = staff_action_get(self.staff_action)
        obj = self.get_object(**kwargs)
        staff_action_perform(
            action=action,
            obj=obj,
            by=request.user,
            source="api",
            ip=request_client_ip(request),
            data=self.action_data(request),
        )
        return Response(self.render(type(obj)._default_manager.get(pk=obj.pk)))


def staff_action_endpoint(
    base: type[StaffActionView],
    action: StaffAction,
    *,
    name: str,
    out: type[serializers.Serializer],
    overrides: dict | None = None,
    problems: dict | None = None,
) -> type[StaffActionView]:
    """The endpoint of one declared staff action: ``base`` finds the object and renders it with ``out``. The view
    is called ``<name><Verb>View`` (``StaffOrderHoldView``) and documented with the action's form as its body
    (``overrides`` replace fields of it) and ``problems`` (``STAFF_ACTION_PROBLEMS``) as its errors."""
    view = type(
        f"{name}{action.verb.title().replace('_', '')}View",
        (base,),
        {"staff_action": action.name, "__doc__": f"{action.label} (permission {action.permission})."},
    )
    return extend_schema(
        tags=["staff"],
        summary=action.label,
        request=action_input_serializer(action, overrides=overrides),
        responses={200: out, **(problems or STAFF_ACTION_PROBLEMS)},
    )(view)


# A staff list, readable with ``staff_permission``: the query parameters named in ``filters`` (text) and
# ``datetime_filters`` (ISO 8601; absent or unreadable: None) go to ``rows`` as keyword arguments. (A comment, not
# a docstring: the schema would show a docstring as the description of every list that has none of its own.)
class StaffListView(generics.ListAPIView):
    permission_classes = [StaffActionPermission]
    filters: tuple[str, ...] = ()
    datetime_filters: tuple[str, ...] = ()

    def rows(self, **filters):
        raise NotImplementedError

    def get_queryset(self):
        q = self.request.query_params
        return self.rows(
            **{name: q.get(name, "") for name in self.filters},
            **{name: _datetime_or_none(q.get(name, "")) for name in self.datetime_filters},
        )


def _datetime_or_none(value: str):
    """An ISO 8601 date-time, or None when absent or unreadable (``2026-02-30T00:00`` is well-formed but no day:
    ``parse_datetime`` raises for it instead of returning None)."""
    try:
        return parse_datetime(value) if value else None
    except ValueError:
        return None


@extend_schema(
    tags=["staff"],
    parameters=[
        OpenApiParameter("kind", str, enum=["action", "change"], description="a staff action or a change to a row"),
        OpenApiParameter("actor_email", str),
        OpenApiParameter(
            "action",
            str,
            description="a staff action's name (orders.order.hold) or a change (inventory.variant.update)",
        ),
        OpenApiParameter("object_type", str, description="e.g. orders.order"),
        OpenApiParameter("object_id", str),
        OpenApiParameter("outcome", str, enum=["done", "refused", "failed", "interrupted", "unfinished"]),
        OpenApiParameter("since", str, description="ISO 8601 date-time, inclusive"),
        OpenApiParameter("until", str, description="ISO 8601 date-time, exclusive"),
    ],
    responses={200: AuditEntryOutSerializer(many=True), **STAFF_READ_PROBLEMS},
)
class AuditLogView(StaffListView):
    """The one audit log, newest first: staff actions and changes to configuration and catalog (Manager and
    Finance)."""

    serializer_class = AuditEntryOutSerializer
    staff_permission = "staff.view_auditentry"
    filters = ("kind", "actor_email", "action", "object_type", "object_id", "outcome")
    datetime_filters = ("since", "until")

    def rows(self, **filters):
        return selectors.audit_log(**filters)


__all__ = [
    "STAFF_ACTION_PROBLEMS",
    "STAFF_READ_PROBLEMS",
    "AuditLogView",
    "StaffActionView",
    "StaffListView",
    "staff_action_endpoint",
    "staff_action_get",
]
