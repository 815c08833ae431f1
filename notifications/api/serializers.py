from __future__ import annotations

from rest_framework import serializers

from notifications.models import Device, Notification


class _StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know instead of silently ignoring them."""

    unknown_message = "Unknown field."

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError({key: [self.unknown_message] for key in unknown})
        return value


class ChannelFlagsSerializer(_StrictSerializer):
    unknown_message = "Not a channel (email, sms, push)."

    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)


class PreferencesSerializer(_StrictSerializer):
    """Per category, per channel. Essentials (order confirmation, payment failure) are always emailed."""

    unknown_message = "Not a category you can choose (order_updates, shipping_updates, billing, marketing)."

    order_updates = ChannelFlagsSerializer(required=False)
    shipping_updates = ChannelFlagsSerializer(required=False)
    billing = ChannelFlagsSerializer(required=False)
    marketing = ChannelFlagsSerializer(required=False)


class DeviceInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DeviceTokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512)


class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Device
        fields = ["id", "token", "platform", "name", "created_at"]


class NotificationSerializer(serializers.ModelSerializer):
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
