"""Input shapes and output representations of the subscriptions API."""

from __future__ import annotations

from rest_framework import serializers

from subscriptions.models import Invoice, InvoiceLine, Plan, Subscription


class PlanOutSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    tier = serializers.CharField(source="tier.name")
    free_shipping = serializers.BooleanField(source="tier.free_shipping")
    percent_off = serializers.IntegerField(source="tier.percent_off")
    early_access = serializers.BooleanField(source="tier.early_access")

    class Meta:
        model = Plan
        fields = [
            "id",
            "code",
            "name",
            "tier",
            "interval",
            "price_minor",
            "currency",
            "trial_days",
            "free_shipping",
            "percent_off",
            "early_access",
        ]


class SubscriptionOutSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    plan = PlanOutSerializer(read_only=True)
    status = serializers.CharField(read_only=True)
    credit_minor = serializers.IntegerField(read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "status",
            "plan",
            "current_period_start",
            "current_period_end",
            "trial_end",
            "cancel_at_period_end",
            "paused_at",
            "cancelled_at",
            "ended_at",
            "payment_method_label",
            "credit_minor",
            "created_at",
        ]


class SubscribeInSerializer(serializers.Serializer):
    plan = serializers.SlugField(max_length=60, help_text="Plan code, e.g. plus-monthly")
    payment_method = serializers.CharField(max_length=200, help_text="Gateway token, e.g. pm_card_visa")


class PaymentMethodInSerializer(serializers.Serializer):
    payment_method = serializers.CharField(max_length=200, help_text="Gateway token, e.g. pm_card_visa")


class ChangePlanInSerializer(serializers.Serializer):
    plan = serializers.SlugField(max_length=60)


class CancelInSerializer(serializers.Serializer):
    at_period_end = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PauseInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class InvoiceLineOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["description", "amount_minor", "period_start", "period_end"]


class InvoiceOutSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    subscription = serializers.UUIDField(source="subscription.public_id", read_only=True)
    plan = serializers.CharField(source="subscription.plan.code", read_only=True)
    lines = InvoiceLineOutSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "number",
            "status",
            "billing_reason",
            "subscription",
            "plan",
            "period_start",
            "period_end",
            "subtotal_minor",
            "credit_applied_minor",
            "amount_minor",
            "currency",
            "payment_attempts",
            "next_payment_attempt_at",
            "paid_at",
            "issued_at",
            "lines",
        ]
