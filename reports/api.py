"""The owner's report on the staff API: ``GET /api/v1/staff/reports/`` (the same figures as Admin → Reports
and the weekly email). Staff holding ``reports.view_reports`` only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.schema import problem
from flowmart.reporting import PERIODS, DateRange
from reports.forms import MAX_DAYS
from reports.selectors import default_range, owner_report

PERMISSION = "reports.view_reports"


class CanViewReports(BasePermission):
    message = "You may not see the reports."

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm(PERMISSION))


class ReportQueryIn(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="First day (shop time zone); default: 29 days ago")
    until = serializers.DateField(required=False, help_text="Last day, included; default: today")
    period = serializers.ChoiceField(choices=PERIODS, default="day")

    def validate(self, data):
        fallback = default_range()
        data.setdefault("since", fallback.since)
        data.setdefault("until", fallback.until)
        if data["until"] < data["since"]:
            raise serializers.ValidationError({"until": ["The end date is before the start date."]})
        if (data["until"] - data["since"]).days >= MAX_DAYS:
            raise serializers.ValidationError({"since": [f"Choose at most {MAX_DAYS} days."]})
        return data


class TotalsOut(serializers.Serializer):
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    gross_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    net_minor = serializers.IntegerField(help_text="gross − refunded")
    average_order_minor = serializers.IntegerField(help_text="net ÷ orders, rounded half up")
    refunded_orders = serializers.IntegerField()
    refund_rate_percent = serializers.FloatField(allow_null=True)


class SalesRowOut(serializers.Serializer):
    period = serializers.DateField(help_text="First day of the day, week (Monday) or month")
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    gross_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    net_minor = serializers.IntegerField()
    average_order_minor = serializers.IntegerField()


class CategoryRowOut(serializers.Serializer):
    category = serializers.CharField()
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    sales_minor = serializers.IntegerField(help_text="Line totals (before order discount and shipping)")


class StageOut(serializers.Serializer):
    stage = serializers.CharField()
    orders = serializers.IntegerField()
    p50_hours = serializers.FloatField(allow_null=True)
    p90_hours = serializers.FloatField(allow_null=True)


class FailureReasonOut(serializers.Serializer):
    reason = serializers.CharField()
    attempts = serializers.IntegerField()


class DeliveryOut(serializers.Serializer):
    dispatched = serializers.IntegerField()
    ended = serializers.IntegerField(help_text="Delivered or returned to sender")
    delivered = serializers.IntegerField()
    delivered_first_attempt = serializers.IntegerField()
    returned_to_sender = serializers.IntegerField()
    on_the_way = serializers.IntegerField()
    delivery_rate_percent = serializers.FloatField(allow_null=True)
    first_attempt_rate_percent = serializers.FloatField(allow_null=True)
    failures_by_reason = FailureReasonOut(many=True)


class ReturnsOut(serializers.Serializer):
    orders_sold = serializers.IntegerField()
    requested = serializers.IntegerField()
    return_rate_percent = serializers.FloatField(allow_null=True)
    by_status = serializers.DictField(child=serializers.IntegerField())


class CsatPointOut(serializers.Serializer):
    period = serializers.DateField()
    responses = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    csat_percent = serializers.FloatField()
    average = serializers.FloatField()


class CommentOut(serializers.Serializer):
    order_number = serializers.CharField()
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class CsatOut(serializers.Serializer):
    responses = serializers.IntegerField()
    csat_percent = serializers.FloatField(allow_null=True)
    series = CsatPointOut(many=True)
    comments = CommentOut(many=True)


class StockAlertOut(serializers.Serializer):
    sku = serializers.CharField()
    product = serializers.CharField()
    warehouse = serializers.CharField()
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()
    threshold = serializers.IntegerField()


class StockAlertsOut(serializers.Serializer):
    count = serializers.IntegerField()
    items = StockAlertOut(many=True)


class DeadLettersOut(serializers.Serializer):
    dead_deliveries = serializers.IntegerField()
    dead_commands = serializers.IntegerField()


class AttentionOrderOut(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    problem = serializers.CharField()
    placed_at = serializers.DateTimeField()


class AttentionOut(serializers.Serializer):
    count = serializers.IntegerField()
    orders = AttentionOrderOut(many=True)


class OwnerReportOut(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    period = serializers.ChoiceField(choices=PERIODS)
    totals = TotalsOut(many=True)
    sales = SalesRowOut(many=True)
    categories = CategoryRowOut(many=True)
    processing = StageOut(many=True)
    delivery = DeliveryOut()
    returns = ReturnsOut()
    csat = CsatOut()
    stock_alerts = StockAlertsOut()
    dead_letters = DeadLettersOut()
    orders_needing_attention = AttentionOut()


@extend_schema(tags=["staff"])
class OwnerReportView(APIView):
    """Sales (net of refunds), categories, processing times, deliveries, returns, CSAT, stock alerts, dead
    letters and orders needing attention for a date range."""

    permission_classes = [IsAdminUser, CanViewReports]

    @extend_schema(
        parameters=[ReportQueryIn],
        responses={
            200: OwnerReportOut,
            400: problem("invalid (errors): a date that is not one, until before since, more than two years"),
            401: problem("not_authenticated"),
            403: problem("permission_denied: not staff, or staff without reports.view_reports"),
        },
    )
    def get(self, request):
        query = ReportQueryIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = owner_report(
            date_range=DateRange(since=query.validated_data["since"], until=query.validated_data["until"]),
            period=query.validated_data["period"],
        )
        return Response(OwnerReportOut(report.as_dict()).data)
