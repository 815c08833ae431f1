"""``/api/v1/`` endpoints of the subscriptions app: plans, the customer's membership, invoices. Thin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.idempotency import idempotent
from subscriptions import selectors, services
from subscriptions.api import serializers as s

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
SUBSCRIPTION_ID = OpenApiParameter(
    "subscription_id", str, OpenApiParameter.PATH, description='The subscription\'s id (UUID) or "current".'
)


def _subscription(request, subscription_id: str):
    if subscription_id == "current":
        sub = selectors.subscription_current_for_user(user=request.user)
    else:
        sub = selectors.subscription_get_for_user(user=request.user, public_id=subscription_id)
    if sub is None:
        raise NotFound("No such membership.")
    return sub


def _out(sub, *, status_code: int = 200) -> Response:
    return Response(s.SubscriptionOutSerializer(sub).data, status=status_code)


@extend_schema(tags=["subscriptions"])
class PlanListView(generics.ListAPIView):
    """Membership plans on offer."""

    permission_classes = [permissions.AllowAny]
    serializer_class = s.PlanOutSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.plan_list()


@extend_schema(tags=["subscriptions"])
class SubscriptionListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.SubscriptionOutSerializer(many=True))
    def get(self, request):
        subs = selectors.subscription_list_for_user(user=request.user)
        return Response(s.SubscriptionOutSerializer(subs, many=True).data)

    @extend_schema(
        request=s.SubscribeInSerializer, responses={201: s.SubscriptionOutSerializer}, parameters=[IDEMPOTENCY_HEADER]
    )
    @idempotent
    def post(self, request):
        data = s.SubscribeInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub = services.subscription_subscribe(
            user=request.user,
            plan=data.validated_data["plan"],
            payment_method=data.validated_data["payment_method"],
            by=request.user,
        )
        return _out(sub, status_code=status.HTTP_201_CREATED)


@extend_schema(tags=["subscriptions"], parameters=[SUBSCRIPTION_ID])
class SubscriptionDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.SubscriptionOutSerializer)
    def get(self, request, subscription_id: str):
        return _out(_subscription(request, subscription_id))


@extend_schema(tags=["subscriptions"], parameters=[SUBSCRIPTION_ID])
class SubscriptionCancelView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.CancelInSerializer, responses=s.SubscriptionOutSerializer)
    def post(self, request, subscription_id: str):
        data = s.CancelInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub = services.subscription_cancel(
            subscription=_subscription(request, subscription_id),
            at_period_end=data.validated_data["at_period_end"],
            by=request.user,
            detail=data.validated_data["reason"],
        )
        return _out(sub)


@extend_schema(tags=["subscriptions"], parameters=[SUBSCRIPTION_ID, IDEMPOTENCY_HEADER])
class SubscriptionChangePlanView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.ChangePlanInSerializer, responses=s.SubscriptionOutSerializer)
    @idempotent
    def post(self, request, subscription_id: str):
        data = s.ChangePlanInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub = services.subscription_change_plan(
            subscription=_subscription(request, subscription_id), plan=data.validated_data["plan"], by=request.user
        )
        return _out(sub)


@extend_schema(tags=["subscriptions"], parameters=[SUBSCRIPTION_ID])
class SubscriptionPauseView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.PauseInSerializer, responses=s.SubscriptionOutSerializer)
    def post(self, request, subscription_id: str):
        data = s.PauseInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub = services.subscription_pause(
            subscription=_subscription(request, subscription_id), by=request.user, reason=data.validated_data["reason"]
        )
        return _out(sub)


@extend_schema(tags=["subscriptions"], parameters=[SUBSCRIPTION_ID])
class SubscriptionResumeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=s.SubscriptionOutSerializer)
    def post(self, request, subscription_id: str):
        sub = services.subscription_resume(subscription=_subscription(request, subscription_id), by=request.user)
        return _out(sub)


@extend_schema(tags=["subscriptions"], parameters=[SUBSCRIPTION_ID])
class SubscriptionPaymentMethodView(APIView):
    """Replace the card charged on renewal; a past-due membership is retried at the next billing run."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=s.PaymentMethodInSerializer, responses=s.SubscriptionOutSerializer)
    def post(self, request, subscription_id: str):
        data = s.PaymentMethodInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub = services.subscription_update_payment_method(
            subscription=_subscription(request, subscription_id),
            payment_method=data.validated_data["payment_method"],
            by=request.user,
        )
        return _out(sub)


@extend_schema(tags=["subscriptions"])
class InvoiceListView(generics.ListAPIView):
    """The caller's own invoices, newest first."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.InvoiceOutSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.invoice_list_for_user(user=self.request.user)


@extend_schema(tags=["subscriptions"])
class InvoiceDetailView(generics.RetrieveAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = s.InvoiceOutSerializer
    lookup_field = "number"

    def get_queryset(self):
        return selectors.invoice_list_for_user(user=self.request.user)
