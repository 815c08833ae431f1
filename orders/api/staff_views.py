"""``/api/v1/staff/orders/…``: staff find orders and hold, release or cancel them (orders/staff_actions.py).
The refund endpoint is payments' (payments/api/staff_views.py)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.schema import problem
from flowmart.staff.api.permissions import StaffActionPermission
from flowmart.staff.api.views import STAFF_READ_PROBLEMS, StaffActionView, StaffListView, staff_action_endpoint
from orders import selectors, staff_actions
from orders.api.serializers import OrderOutSerializer
from orders.models import Order, OrderStatus


class StaffOrderOutSerializer(OrderOutSerializer):
    class Meta(OrderOutSerializer.Meta):
        fields = [
            *OrderOutSerializer.Meta.fields,
            "saga_status",
            "hold_reason",
            "failure_code",
            "failure_detail",
            "authorized_minor",
            "captured_minor",
            "refunded_minor",
        ]


@extend_schema(
    tags=["staff"],
    parameters=[
        OpenApiParameter("status", str, enum=OrderStatus.values),
        OpenApiParameter("email", str),
        OpenApiParameter("number", str),
        OpenApiParameter("placed_from", str, description="ISO 8601 date-time, inclusive"),
        OpenApiParameter("placed_to", str, description="ISO 8601 date-time, exclusive"),
    ],
    responses={200: StaffOrderOutSerializer(many=True), **STAFF_READ_PROBLEMS},
)
class StaffOrderListView(StaffListView):
    serializer_class = StaffOrderOutSerializer
    staff_permission = "orders.view_order"
    filters = ("status", "email", "number")
    datetime_filters = ("placed_from", "placed_to")

    def rows(self, **filters):
        return selectors.orders_for_staff(**filters)


@extend_schema(
    tags=["staff"],
    responses={200: StaffOrderOutSerializer, 403: problem("permission_denied"), 404: problem("not_found")},
)
class StaffOrderDetailView(APIView):
    permission_classes = [StaffActionPermission]
    staff_permission = "orders.view_order"

    def get(self, request, number: str):
        return Response(StaffOrderOutSerializer(get_object_or_404(Order, number=number)).data)


class _OrderActionView(StaffActionView):
    def get_object(self, *, number: str):
        return get_object_or_404(Order, number=number)

    def render(self, order) -> dict:
        return StaffOrderOutSerializer(order).data


def _order_action_view(action) -> type[StaffActionView]:
    return staff_action_endpoint(_OrderActionView, action, name="StaffOrder", out=StaffOrderOutSerializer)


StaffOrderHoldView = _order_action_view(staff_actions.HOLD)
StaffOrderReleaseView = _order_action_view(staff_actions.RELEASE_HOLD)
StaffOrderCancelView = _order_action_view(staff_actions.CANCEL)
StaffOrderCancelDispatchedView = _order_action_view(staff_actions.CANCEL_DISPATCHED)
StaffOrderFlagClearView = _order_action_view(staff_actions.FLAG_CLEAR)
