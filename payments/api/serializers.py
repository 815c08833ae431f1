from __future__ import annotations

from rest_framework import serializers

from payments.models import Payment, Refund


class RefundOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount_minor", "currency", "status", "reason", "created_at"]
        read_only_fields = fields


class PaymentOutSerializer(serializers.ModelSerializer):
    refunds = RefundOutSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "reference",
            "status",
            "amount_minor",
            "captured_minor",
            "refunded_minor",
            "currency",
            "brand",
            "last4",
            "decline_code",
            "created_at",
            "refunds",
        ]
        read_only_fields = fields


class SavedPaymentMethodOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    token = serializers.CharField(max_length=100)
    brand = serializers.CharField(read_only=True)
    last4 = serializers.CharField(read_only=True)
    exp_month = serializers.IntegerField(read_only=True)
    exp_year = serializers.IntegerField(read_only=True)


class PaymentMethodAttachInSerializer(SavedPaymentMethodOutSerializer):
    """Attaching a card sends only the gateway's ``token``; the other fields are read-only."""


class WebhookAckOutSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    duplicate = serializers.BooleanField()
