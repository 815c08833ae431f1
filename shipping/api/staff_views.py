"""``/api/v1/staff/shipments/…`` (list, detail) and ``/api/v1/staff/returns/…`` (list, detail, approve, reject,
receive with per-line condition): shipping's staff actions (shipping/staff_actions.py)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.schema import problem
from flowmart.staff.api.permissions import StaffActionPermission
from flowmart.staff.api.views import STAFF_READ_PROBLEMS, StaffActionView, StaffListView, staff_action_endpoint
from shipping import selectors, staff_actions
from shipping.api.serializers import ReturnOutSerializer, ShipmentLineOutSerializer
from shipping.models import ReturnRequest, Shipment


class StaffShipmentOutSerializer(serializers.ModelSerializer):
    lines = ShipmentLineOutSerializer(many=True, source="lines.all")

    class Meta:
        model = Shipment
        fields = [
            "number",
            "order_number",
            "kind",
            "rma_number",
            "status",
            "warehouse_code",
            "method_code",
            "carrier",
            "tracking_number",
            "customer_email",
            "customer_name",
            "address",
            "failed_attempts",
            "label_error",
            "created_at",
            "label_created_at",
            "dispatched_at",
            "delivered_at",
            "lines",
        ]
        read_only_fields = fields


class StaffReturnOutSerializer(ReturnOutSerializer):
    customer_email = serializers.EmailField()
    warehouse_code = serializers.CharField()
    staff_note = serializers.CharField()
    received_at = serializers.DateTimeField(allow_null=True)


@extend_schema(
    tags=["staff"],
    parameters=[
        OpenApiParameter("status", str, enum=Shipment.Status.values),
        OpenApiParameter("order_number", str),
        OpenApiParameter("warehouse_code", str),
    ],
    responses={200: StaffShipmentOutSerializer(many=True), **STAFF_READ_PROBLEMS},
)
class StaffShipmentListView(StaffListView):
    serializer_class = StaffShipmentOutSerializer
    staff_permission = "shipping.view_shipment"
    filters = ("status", "order_number", "warehouse_code")

    def rows(self, **filters):
        return selectors.shipments_for_staff(**filters)


@extend_schema(
    tags=["staff"], responses={200: StaffShipmentOutSerializer, 404: problem("not_found"), **STAFF_READ_PROBLEMS}
)
class StaffShipmentDetailView(APIView):
    permission_classes = [StaffActionPermission]
    staff_permission = "shipping.view_shipment"

    def get(self, request, number: str):
        return Response(
            StaffShipmentOutSerializer(get_object_or_404(selectors.shipments_for_staff(), number=number)).data
        )


@extend_schema(
    tags=["staff"],
    parameters=[
        OpenApiParameter("status", str, enum=ReturnRequest.Status.values),
        OpenApiParameter("order_number", str),
    ],
    responses={200: StaffReturnOutSerializer(many=True), **STAFF_READ_PROBLEMS},
)
class StaffReturnListView(StaffListView):
    serializer_class = StaffReturnOutSerializer
    staff_permission = "shipping.view_returnrequest"
    filters = ("status", "order_number")

    def rows(self, **filters):
        return selectors.returns_for_staff(**filters)


@extend_schema(
    tags=["staff"], responses={200: StaffReturnOutSerializer, 404: problem("not_found"), **STAFF_READ_PROBLEMS}
)
class StaffReturnDetailView(APIView):
    permission_classes = [StaffActionPermission]
    staff_permission = "shipping.view_returnrequest"

    def get(self, request, rma_number: str):
        rma = get_object_or_404(selectors.returns_for_staff(), rma_number=rma_number)
        return Response(StaffReturnOutSerializer(rma).data)


class _ReturnActionView(StaffActionView):
    def get_object(self, *, rma_number: str):
        return get_object_or_404(ReturnRequest, rma_number=rma_number)

    def render(self, rma) -> dict:
        return StaffReturnOutSerializer(selectors.returns_for_staff().get(pk=rma.pk)).data


class ReceiveLineInSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)
    condition = serializers.CharField(help_text="e.g. as_new, opened, damaged")


def _return_action_view(action, *, overrides=None) -> type[StaffActionView]:
    return staff_action_endpoint(
        _ReturnActionView, action, name="StaffReturn", out=StaffReturnOutSerializer, overrides=overrides
    )


StaffReturnApproveView = _return_action_view(staff_actions.APPROVE_RETURN)
StaffReturnRejectView = _return_action_view(staff_actions.REJECT_RETURN)
StaffReturnReceiveView = _return_action_view(
    staff_actions.RECEIVE_RETURN,
    overrides={
        "replacements": serializers.CharField(
            required=False, help_text="exchange: one 'RETURNED-SKU=REPLACEMENT-SKU' per line"
        ),
        "lines": ReceiveLineInSerializer(many=True, required=False, help_text="per-line inspection"),
    },
)
