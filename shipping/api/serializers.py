"""Input and output shapes of the shipping API (no business rules here)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from shipping.models import ReturnRequest


class QuoteQueryInSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2")
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=20, default="")
    city = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    weight_grams = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)
    subtotal_minor = serializers.IntegerField(min_value=0, max_value=10**12, default=0)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", default=settings.SHOP_CURRENCY)


class QuoteOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price_minor = serializers.IntegerField()
    currency = serializers.CharField()
    min_days = serializers.IntegerField()
    max_days = serializers.IntegerField()


class QuotesOutSerializer(serializers.Serializer):
    country = serializers.CharField()
    currency = serializers.CharField()
    weight_grams = serializers.IntegerField()
    subtotal_minor = serializers.IntegerField()
    methods = QuoteOutSerializer(many=True)


class TrackingStepOutSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status = serializers.CharField()
    description = serializers.CharField()
    location = serializers.CharField()


class PublicTrackingOutSerializer(serializers.Serializer):
    tracking_number = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    carrier = serializers.CharField()
    destination_city = serializers.CharField()
    destination_country = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    history = TrackingStepOutSerializer(many=True)


class ShipmentLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class DeliveryFailureOutSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    reason = serializers.CharField(help_text="The carrier's words")
    failed_at = serializers.DateTimeField()
    estimated_delivery_date = serializers.DateField(allow_null=True, help_text="The new estimate (null until known)")
    estimate_source = serializers.ChoiceField(
        choices=["carrier", "shop_rule", ""], help_text="carrier: the carrier's; shop_rule: the carrier gave none"
    )
    choices = serializers.ListField(
        child=serializers.ChoiceField(choices=["redeliver", "pickup"]), help_text="What the customer may choose now"
    )
    pickup_point = serializers.CharField()
    choice = serializers.ChoiceField(choices=["redeliver", "pickup", ""], help_text="What the customer chose")


class DeliveryChoiceInSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=["redeliver", "pickup"])


class ShipmentOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    order_number = serializers.CharField()
    kind = serializers.CharField()
    rma_number = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    warehouse_code = serializers.CharField()
    method_code = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    destination_city = serializers.CharField()
    destination_country = serializers.CharField()
    lines = ShipmentLineOutSerializer(many=True)
    history = TrackingStepOutSerializer(many=True)
    created_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    failed_attempts = serializers.IntegerField()
    delivery_failure = DeliveryFailureOutSerializer(allow_null=True, help_text="The latest failed attempt")


class ReturnLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class ReturnCreateInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    reason_code = serializers.ChoiceField(
        choices=ReturnRequest.ReasonCode.choices,
        default=ReturnRequest.ReasonCode.OTHER,
        help_text="arrived_damaged and wrong_item are the shop's fault: the shipping charge is refunded too",
    )
    lines = ReturnLineInSerializer(many=True, allow_empty=False)


class ReturnLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_minor = serializers.IntegerField(help_text="List price of one unit when ordered")
    charged_minor = serializers.IntegerField(
        help_text="What was paid for these units after every discount: the most they can be refunded"
    )
    condition = serializers.CharField(help_text="Inspection: resellable, damaged, missing; empty until received")
    refundable = serializers.BooleanField()
    not_refundable_reason = serializers.CharField()
    refund_minor = serializers.IntegerField(help_text="Refunded for these units (set at inspection)")
    replacement_sku = serializers.CharField()


class ReturnRefundOutSerializer(serializers.Serializer):
    """The refund of a return, set at inspection (zero before it); for an exchange, the price difference refunded."""

    goods_minor = serializers.IntegerField(source="goods_refund_minor", help_text="Sum of the lines' refund_minor")
    shipping_minor = serializers.IntegerField(
        source="shipping_refund_minor",
        help_text="The order's shipping charge: once per order, when the shop was at fault or the whole order came back",
    )
    total_minor = serializers.IntegerField(source="refund_minor")
    shop_at_fault = serializers.BooleanField()


class ReturnTransitionOutSerializer(serializers.Serializer):
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField()


class ReturnOutSerializer(serializers.Serializer):
    rma_number = serializers.CharField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    reason_code = serializers.CharField()
    decision = serializers.CharField()
    refund_minor = serializers.IntegerField(help_text="= refund.total_minor")
    refund = ReturnRefundOutSerializer(source="*")
    currency = serializers.CharField()
    return_tracking_number = serializers.CharField()
    created_at = serializers.DateTimeField()
    lines = ReturnLineOutSerializer(many=True, source="lines.all")
    history = ReturnTransitionOutSerializer(many=True, source="transitions.all")


class WebhookResultOutSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    applied = serializers.IntegerField()
    unknown_tracking_numbers = serializers.ListField(child=serializers.CharField())
