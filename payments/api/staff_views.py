"""``/api/v1/staff/refunds/…`` (Finance's queue: approve, reject) and ``/api/v1/staff/orders/<number>/refund/``
(a refund of an order's captured payment): payments' staff actions (payments/staff_actions.py)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from flowmart.api.schema import problem
from flowmart.staff.api.serializers import action_input_serializer
from flowmart.staff.api.views import (
    STAFF_ACTION_PROBLEMS,
    STAFF_READ_PROBLEMS,
    StaffActionView,
    StaffListView,
    staff_action_endpoint,
)
from payments import selectors, staff_actions
from payments.api.serializers import PaymentOutSerializer
from payments.models import Refund


class StaffRefundOutSerializer(serializers.ModelSerializer):
    payment_id = serializers.UUIDField(source="payment.id")
    reference = serializers.CharField(source="payment.reference")
    requested_by = serializers.EmailField(source="requested_by.email", allow_null=True, default=None)
    decided_by = serializers.EmailField(source="decided_by.email", allow_null=True, default=None)

    class Meta:
        model = Refund
        fields = [
            "id",
            "payment_id",
            "reference",
            "amount_minor",
            "currency",
            "status",
            "reason",
            "requested_by",
            "decided_by",
            "decision_note",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema(
    tags=["staff"],
    parameters=[
        OpenApiParameter("status", str, enum=Refund.Status.values),
        OpenApiParameter("reference", str, description="e.g. order:FM-ABCD2345"),
    ],
    responses={200: StaffRefundOutSerializer(many=True), **STAFF_READ_PROBLEMS},
)
class StaffRefundListView(StaffListView):
    serializer_class = StaffRefundOutSerializer
    staff_permission = "payments.view_refund"
    filters = ("status", "reference")

    def rows(self, **filters):
        return selectors.refunds_for_staff(**filters)


class _RefundDecisionView(StaffActionView):
    def get_object(self, *, refund_id):
        return get_object_or_404(Refund.objects.select_related("payment"), pk=refund_id)

    def render(self, refund) -> dict:
        return StaffRefundOutSerializer(refund).data


_DECISION_PROBLEMS = {
    **STAFF_ACTION_PROBLEMS,
    403: problem("permission_denied; finance_role_required; refund_self_approval (the requester cannot decide)"),
    409: problem("refund_not_pending"),
}


def _refund_decision_view(action) -> type[StaffActionView]:
    return staff_action_endpoint(
        _RefundDecisionView, action, name="StaffRefund", out=StaffRefundOutSerializer, problems=_DECISION_PROBLEMS
    )


StaffRefundApproveView = _refund_decision_view(staff_actions.APPROVE)
StaffRefundRejectView = _refund_decision_view(staff_actions.REJECT)


@extend_schema(
    tags=["staff"],
    summary="Refund an order (its captured payment with the most left to refund)",
    parameters=[
        OpenApiParameter(
            "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description="the same key refunds once"
        )
    ],
    request=action_input_serializer(
        staff_actions.REFUND, overrides={"idempotency_key": serializers.HiddenField(default="")}
    ),
    responses={
        200: PaymentOutSerializer,
        **STAFF_ACTION_PROBLEMS,
        409: problem("refund_exceeds_captured, invalid_transition"),
    },
)
class StaffOrderRefundView(StaffActionView):
    """Above ``REFUND_APPROVAL_THRESHOLD_MINOR`` the refund waits for a second person in Finance."""

    staff_action = staff_actions.REFUND.name

    def get_object(self, *, number: str):
        payment = selectors.payment_to_refund_for_order(order_number=number)
        if payment is None:
            raise Http404
        return payment

    def action_data(self, request) -> dict:
        key = request.headers.get("Idempotency-Key", "")
        return {**super().action_data(request), "idempotency_key": f"staff-api:{key}" if key else ""}

    def render(self, payment) -> dict:
        return PaymentOutSerializer(payment).data
