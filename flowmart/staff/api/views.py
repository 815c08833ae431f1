"""The staff API's kernel: the view every staff action endpoint is (``StaffActionView``), and the audit log.

An app's staff endpoints live in ``<app>/api/staff_views.py`` and are mounted under ``/api/v1/staff/`` by
``flowmart/api/staff_urls.py``. A staff action endpoint is a subclass naming the action and how to find the
object (404 when there is none) and how to show it afterwards; the body is the action's form as JSON.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.schema import problem
from flowmart.staff import selectors
from flowmart.staff.actions import request_client_ip, staff_action_get, staff_action_perform
from flowmart.staff.api.permissions import StaffActionPermission
from flowmart.staff.api.serializers import AuditEntryOutSerializer

# The problems every staff action endpoint may answer, for extend_schema(responses=...).
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
    responses={
        200: AuditEntryOutSerializer(many=True),
        401: problem("not_authenticated"),
        403: problem("permission_denied"),
    },
)
class AuditLogView(generics.ListAPIView):
    """The one audit log, newest first: staff actions and changes to configuration and catalog (Manager and
    Finance)."""

    serializer_class = AuditEntryOutSerializer
    permission_classes = [StaffActionPermission]
    staff_permission = "staff.view_auditentry"

    def get_queryset(self):
        from django.utils.dateparse import parse_datetime

        q = self.request.query_params
        return selectors.audit_log(
            kind=q.get("kind", ""),
            actor_email=q.get("actor_email", ""),
            action=q.get("action", ""),
            object_type=q.get("object_type", ""),
            object_id=q.get("object_id", ""),
            outcome=q.get("outcome", ""),
            since=parse_datetime(q["since"]) if q.get("since") else None,
            until=parse_datetime(q["until"]) if q.get("until") else None,
        )


__all__ = ["STAFF_ACTION_PROBLEMS", "AuditLogView", "StaffActionView", "staff_action_get"]
