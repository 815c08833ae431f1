from __future__ import annotations

from rest_framework import serializers

from notifications.models import BackInStockRequest, Device, Notification


class _StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know instead of silently ignoring them."""

    unknown_message = "Unknown field."

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError({key: [self.unknown_message] for key in unknown})
        return value


class ChannelFlagsInSerializer(_StrictSerializer):
    unknown_message = "Not a channel (email, sms, push)."

    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)


class PreferencesInSerializer(_StrictSerializer):
    """Per category, per channel. Essentials (order confirmation, payment failure) are always emailed."""

    unknown_message = (
        "Not a category you can choose "
        "(order_updates, shipping_updates, billing, marketing, back_in_stock, new_arrivals)."
    )

    order_updates = ChannelFlagsInSerializer(required=False)
    shipping_updates = ChannelFlagsInSerializer(required=False)
    billing = ChannelFlagsInSerializer(required=False)
    marketing = ChannelFlagsInSerializer(required=False)
    back_in_stock = ChannelFlagsInSerializer(required=False)
    new_arrivals = ChannelFlagsInSerializer(required=False)


class PreferencesOutSerializer(PreferencesInSerializer):
    """The same matrix, as the API answers it."""


class DeviceInSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DeviceOutSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Device
        fields = ["id", "token", "platform", "name", "created_at"]


class NotificationOutSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "category",
            "channel",
            "status",
            "subject",
            "body_text",
            "correlation_id",
            "attempts",
            "created_at",
            "sent_at",
            "delivered_at",
        ]


class BackInStockRequestInSerializer(_StrictSerializer):
    """Signed in: the account is told (no email needed). Otherwise ``email`` gets a confirmation link first."""

    sku = serializers.CharField(max_length=64)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)


class BackInStockRequestOutSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(
        choices=["unconfirmed", "waiting", "notified"],
        help_text="unconfirmed: the email's link was not followed yet; waiting: in the queue; notified: done",
    )

    class Meta:
        model = BackInStockRequest
        fields = [
            "sku",
            "product_name",
            "product_slug",
            "email",
            "state",
            "requested_at",
            "confirmed_at",
            "notified_at",
            "channel",
        ]
        read_only_fields = fields
