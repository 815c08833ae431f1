from __future__ import annotations

from rest_framework import serializers

from notifications.models import Device, Notification


class ChannelFlagsSerializer(serializers.Serializer):
    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)


class PreferencesSerializer(serializers.Serializer):
    """Per category, per channel. Essentials (order confirmation, payment failure) are always emailed."""

    order_updates = ChannelFlagsSerializer(required=False)
    shipping_updates = ChannelFlagsSerializer(required=False)
    billing = ChannelFlagsSerializer(required=False)
    marketing = ChannelFlagsSerializer(required=False)


class DeviceInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


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
