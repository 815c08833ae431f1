"""Shipping API views: validate, call one service or selector, render."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from flowmart.api.idempotency import idempotent
from flowmart.api.schema import problem
from shipping import selectors, services
from shipping.api import serializers as s


class ShippingMethodsView(APIView):
    """Quotes for checkout: the methods available to a destination, with price and delivery estimate."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[s.QuoteQueryInSerializer], responses=s.QuotesOutSerializer)
    def get(self, request):
        query = s.QuoteQueryInSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        country, currency = q["country"].upper(), q["currency"].upper()
        quotes = services.shipping_quote(
            destination={"country": country, "postal_code": q["postal_code"], "city": q["city"]},
            lines=[{"sku": "parcel", "quantity": 1, "weight_grams": q["weight_grams"]}],
            subtotal_minor=q["subtotal_minor"],
            currency=currency,
        )
        body = {
            "country": country,
            "currency": currency,
            "weight_grams": q["weight_grams"],
            "subtotal_minor": q["subtotal_minor"],
            "methods": [quote.as_dict() for quote in quotes],
        }
        return Response(s.QuotesOutSerializer(body).data)


class TrackingView(APIView):
    """Public tracking by tracking number: status, history and destination city only."""

    permission_classes = [AllowAny]

    @extend_schema(responses=s.PublicTrackingOutSerializer)
    def get(self, request, number: str):
        tracking = selectors.tracking_for_number(tracking_number=number)
        if tracking is None:
            raise Http404
        return Response(s.PublicTrackingOutSerializer(tracking).data)


class OrderShipmentsView(APIView):
    """The shipments of one of the caller's orders (someone else's order: 404)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.ShipmentOutSerializer(many=True))
    def get(self, request, number: str):
        shipments = selectors.shipments_for_order(order_number=number, user_id=str(request.user.public_id))
        if not shipments:
            raise Http404
        return Response(s.ShipmentOutSerializer(shipments, many=True).data)


class DeliveryChoiceView(APIView):
    """After a failed attempt: the customer asks for re-delivery or pick-up (what the carrier offers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=s.DeliveryChoiceInSerializer,
        responses={
            200: s.ShipmentOutSerializer,
            400: problem("invalid (errors): not a choice"),
            401: problem("not_authenticated"),
            404: problem("shipment_not_found: no such parcel on an order of yours"),
            409: problem("delivery_choice_not_available: no failed attempt waiting, or the carrier refused"),
        },
    )
    def post(self, request, number: str, shipment_number: str):
        data = s.DeliveryChoiceInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_id = str(request.user.public_id)
        services.shipment_delivery_choose(
            order_number=number, shipment_number=shipment_number, choice=data.validated_data["choice"], user_id=user_id
        )
        shipment = selectors.shipment_for_order(order_number=number, shipment_number=shipment_number, user_id=user_id)
        return Response(s.ShipmentOutSerializer(shipment).data)


class OrderReturnsView(APIView):
    """Ask to return delivered items of one of the caller's orders."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=s.ReturnCreateInSerializer,
        responses={
            201: s.ReturnOutSerializer,
            400: problem(
                "invalid (errors); return_not_allowed: not_delivered, return_window_closed, "
                "return_quantity_exceeded, return_reason_required, return_lines_required, return_lines_invalid, "
                "return_reason_code_invalid"
            ),
            401: problem("not_authenticated"),
            404: problem("order_not_found: no such order of yours"),
        },
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def post(self, request, number: str):
        data = s.ReturnCreateInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rma = services.return_request(
            order_number=number,
            user_id=str(request.user.public_id),
            lines=data.validated_data["lines"],
            reason=data.validated_data["reason"],
            reason_code=data.validated_data["reason_code"],
            by=request.user,
        )
        rma = selectors.return_for_user(rma_number=rma.rma_number, user_id=str(request.user.public_id))
        return Response(s.ReturnOutSerializer(rma).data, status=status.HTTP_201_CREATED)


class ReturnListView(generics.ListAPIView):
    """The caller's returns, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.ReturnOutSerializer
    filterset_fields = ["status", "order_number"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return selectors.returns_none()
        return selectors.returns_for_user(user_id=str(self.request.user.public_id))


class ReturnDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.ReturnOutSerializer)
    def get(self, request, rma_number: str):
        rma = selectors.return_for_user(rma_number=rma_number, user_id=str(request.user.public_id))
        if rma is None:
            raise Http404
        return Response(s.ReturnOutSerializer(rma).data)


class CarrierWebhookView(APIView):
    """Signed tracking updates pushed by a carrier (sandbox: HMAC over "<timestamp>.<body>"; EasyPost: its events)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "webhook"

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses=s.WebhookResultOutSerializer,
        parameters=[
            OpenApiParameter("X-Carrier-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER, description="sandbox"),
            OpenApiParameter("X-Carrier-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, description="sandbox"),
            OpenApiParameter("X-Hmac-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, description="easypost"),
        ],
    )
    def post(self, request, carrier: str):
        result = services.carrier_webhook_receive(carrier=carrier, body=request.body, headers=request.headers)
        return Response(s.WebhookResultOutSerializer(result).data)
