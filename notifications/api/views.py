from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator

from flowmart.api.schema import problem
from notifications import back_in_stock, preferences, selectors, services
from notifications.api.serializers import (
    BackInStockRequestInSerializer,
    BackInStockRequestOutSerializer,
    DeviceInSerializer,
    DeviceOutSerializer,
    NotificationOutSerializer,
    PreferencesInSerializer,
    PreferencesOutSerializer,
)
from notifications.models import Notification


@extend_schema(tags=["notifications"])
class PreferencesView(APIView):
    """The signed-in customer's notification preferences (per category and channel)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=PreferencesOutSerializer)
    def get(self, request):
        return Response(preferences.preference_matrix(user=request.user))

    @extend_schema(request=PreferencesInSerializer, responses=PreferencesOutSerializer)
    def put(self, request):
        serializer = PreferencesInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.preferences_update(user=request.user, matrix=serializer.validated_data))


@extend_schema(tags=["notifications"])
class DeviceListView(APIView):
    """Register a push token for the signed-in customer (registering it again updates it)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=DeviceOutSerializer(many=True))
    def get(self, request):
        return Response(DeviceOutSerializer(selectors.devices_for_user(user=request.user), many=True).data)

    @extend_schema(
        request=DeviceInSerializer,
        responses={
            201: DeviceOutSerializer,
            200: DeviceOutSerializer,
            409: problem("device_token_taken: the token is registered to another account (which is not named)"),
        },
    )
    def post(self, request):
        serializer = DeviceInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device, created = services.device_register(user=request.user, **serializer.validated_data)
        return Response(
            DeviceOutSerializer(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["notifications"])
class DeviceDetailView(APIView):
    """Forget a push token (logout, uninstall). A token with slashes goes in the path as it is
    (``DELETE /devices/fcm:abc/def/``); a DELETE carries no body."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None}, operation_id="devices_destroy")
    def delete(self, request, token: str):
        services.device_remove(user=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["notifications"])
class NotificationListView(generics.ListAPIView):
    """The signed-in customer's notifications, newest first."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = NotificationOutSerializer
    filterset_fields = ["channel", "status", "kind"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return selectors.notifications_for_user(user=self.request.user)


@extend_schema(tags=["notifications"])
class NotificationDetailView(generics.RetrieveAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = NotificationOutSerializer

    def get_object(self):
        notification = selectors.notification_get_for_user(user=self.request.user, public_id=self.kwargs["public_id"])
        if notification is None:
            raise NotFound()
        return notification


# Twilio posts: SmsSid/MessageSid, MessageStatus (queued|sent|delivered|undelivered|failed), ErrorCode.
TWILIO_DELIVERED = {"delivered", "read"}
TWILIO_UNDELIVERED = {"undelivered", "failed"}


@extend_schema(
    tags=["notifications"], request=None, responses={204: None, 403: OpenApiResponse(description="bad signature")}
)
class TwilioStatusCallbackView(APIView):
    """Twilio's signed delivery-status callback for SMS (``X-Twilio-Signature``)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [FormParser]
    throttle_scope = "webhook"

    def post(self, request):
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.SITE_URL + request.get_full_path()
        params = {k: request.POST.get(k) for k in request.POST}
        if not settings.TWILIO_AUTH_TOKEN or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
            url, params, signature
        ):
            raise PermissionDenied("Invalid Twilio signature.")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        state = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if sid and state in TWILIO_DELIVERED | TWILIO_UNDELIVERED:
            error = f"Twilio error {params.get('ErrorCode')}" if params.get("ErrorCode") else state
            services.notification_delivery_report(
                channel="sms", provider_message_id=sid, delivered=state in TWILIO_DELIVERED, error=error
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["notifications"])
class BackInStockRequestListView(APIView):
    """Ask to be told once when a sold-out SKU is back (docs/notifications.md §Back in stock)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={200: BackInStockRequestOutSerializer(many=True), 401: problem("not_authenticated")},
        summary="Your back-in-stock requests",
    )
    def get(self, request):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        requests = selectors.back_in_stock_requests_for_user(user=request.user)[:100]
        return Response(BackInStockRequestOutSerializer(requests, many=True).data)

    @extend_schema(
        request=BackInStockRequestInSerializer,
        responses={
            201: BackInStockRequestOutSerializer,
            400: problem("back_in_stock_invalid (errors: email for a guest), unknown_sku"),
            409: problem("sku_in_stock: it can be bought now"),
        },
        summary="Tell me when this SKU is back (409 sku_in_stock if it can be bought now)",
    )
    def post(self, request):
        serializer = BackInStockRequestInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert = back_in_stock.back_in_stock_request(
            sku=serializer.validated_data["sku"],
            user=request.user,
            email=serializer.validated_data.get("email", ""),
        )
        return Response(BackInStockRequestOutSerializer(alert).data, status=status.HTTP_201_CREATED)
