"""``/api/v1/payments/…``: a customer's own payments and saved cards, and the gateways' webhooks."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from flowmart.api.idempotency import idempotent
from payments import selectors, services, webhooks
from payments.api.serializers import (
    PaymentMethodAttachInSerializer,
    PaymentOutSerializer,
    SavedPaymentMethodOutSerializer,
    WebhookAckOutSerializer,
)
from payments.gateways import GATEWAY_NAMES, get_gateway
from payments.models import Payment, SavedPaymentMethod


class PaymentFilter(django_filters.FilterSet):
    reference = django_filters.CharFilter(help_text="e.g. order:FM-7Q2K9D4X")
    status = django_filters.CharFilter()

    class Meta:
        model = Payment
        fields = ["reference", "status"]


@extend_schema(tags=["payments"])
class PaymentViewSet(viewsets.ReadOnlyModelViewSet):
    """The signed-in customer's payments (filter by ``reference``); anyone else's are 404."""

    serializer_class = PaymentOutSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = PaymentFilter
    ordering_fields = ["created_at", "amount_minor"]
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return selectors.payment_list_for_customer(user_id=self.request.user.public_id)


@extend_schema(tags=["payments"])
class PaymentMethodViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Saved cards: the gateway token plus brand, last 4 and expiry. Card numbers are never accepted."""

    serializer_class = SavedPaymentMethodOutSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = None
    queryset = SavedPaymentMethod.objects.none()  # for the schema; the views call selectors/services
    lookup_value_regex = "[0-9a-f-]{36}"

    def list(self, request):
        methods = selectors.payment_methods_for_user(user_id=request.user.public_id)
        return Response(SavedPaymentMethodOutSerializer(methods, many=True).data)

    @extend_schema(request=PaymentMethodAttachInSerializer, responses={201: SavedPaymentMethodOutSerializer})
    @idempotent
    def create(self, request):
        serializer = PaymentMethodAttachInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        method = services.payment_method_attach(
            user_id=request.user.public_id, token=serializer.validated_data["token"]
        )
        return Response(SavedPaymentMethodOutSerializer(method).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.payment_method_detach(user_id=request.user.public_id, method_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookView(APIView):
    """Signed notifications from a payment gateway (``sandbox`` or ``stripe``)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Gateways post from a few IPs in bursts: only the generous "webhook" scope applies, not the anonymous rate.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    @extend_schema(
        tags=["payments"],
        request=OpenApiTypes.OBJECT,
        responses={200: WebhookAckOutSerializer},
        parameters=[
            OpenApiParameter("gateway", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(GATEWAY_NAMES)),
            OpenApiParameter("Stripe-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("Sandbox-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
        ],
    )
    def post(self, request, gateway: str):
        if gateway not in GATEWAY_NAMES:
            raise webhooks.UnknownGateway(f"No payment gateway called {gateway!r}.")
        header = get_gateway(gateway).signature_header
        _, is_new = webhooks.webhook_receive(
            gateway=gateway, payload=request.body, signature=request.headers.get(header, "")
        )
        return Response({"received": True, "duplicate": not is_new})
