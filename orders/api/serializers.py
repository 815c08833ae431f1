"""Input and output shapes of the orders API. Validation of shape only; rules live in services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Order
from orders.selectors import (
    order_actions,
    order_history,
    order_payments,
    order_refunds_for_customer,
    order_shipments,
    order_timeline,
)


# -- basket ------------------------------------------------------------------------
class BasketLineOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    variant_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()
    currency = serializers.CharField()
    available_quantity = serializers.IntegerField()
    is_available = serializers.BooleanField()
    problem = serializers.CharField()


class BasketOutSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    currency = serializers.CharField()
    lines = BasketLineOutSerializer(many=True)
    item_count = serializers.IntegerField()
    subtotal_minor = serializers.IntegerField()
    can_checkout = serializers.BooleanField()
    notices = serializers.ListField(child=serializers.CharField())


class BasketLineAddSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, default=1)


class BasketLineUpdateSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=0)


# -- checkout ----------------------------------------------------------------------
class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(min_length=2, max_length=2)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class CheckoutSerializer(serializers.Serializer):
    shipping_address = AddressSerializer()
    shipping_method = serializers.CharField(max_length=64)
    payment_method = serializers.CharField(max_length=255)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    expected_total_minor = serializers.IntegerField(required=False, min_value=0)


class PaymentRetrySerializer(serializers.Serializer):
    payment_method = serializers.CharField(max_length=255)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AmendLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=0)


class AmendSerializer(serializers.Serializer):
    lines = AmendLineSerializer(many=True, required=False, default=list)
    shipping_address = AddressSerializer(required=False)


# -- orders --------------------------------------------------------------------------
class OrderLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    variant_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()


class TotalsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField(help_text="money back already (a refund awaiting approval is not in it)")
    refund_pending_minor = serializers.IntegerField(help_text="refunds awaiting approval by our team")


class OrderSummarySerializer(serializers.ModelSerializer):
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["number", "status", "placed_at", "totals"]

    def get_totals(self, order: Order) -> dict:
        return TotalsSerializer(order).data


class OrderOutSerializer(OrderSummarySerializer):
    lines = OrderLineOutSerializer(many=True)
    email = serializers.EmailField()
    shipping_address = serializers.JSONField()
    actions = serializers.SerializerMethodField()
    retry_until = serializers.DateTimeField(allow_null=True)
    decline_code = serializers.CharField()

    class Meta(OrderSummarySerializer.Meta):
        fields = [
            "number",
            "status",
            "placed_at",
            "confirmed_at",
            "email",
            "lines",
            "totals",
            "shipping_method",
            "shipping_address",
            "retry_until",
            "decline_code",
            "actions",
        ]

    def get_actions(self, order: Order) -> list[str]:
        return order_actions(order=order)


class TimelineEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    producer = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    payload = serializers.JSONField()


class TransitionSerializer(serializers.Serializer):
    transition = serializers.CharField()
    from_status = serializers.CharField(source="from_state")
    to_status = serializers.CharField(source="to_state")
    actor = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class OrderShipmentSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class OrderPaymentSerializer(serializers.Serializer):
    status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    captured_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    currency = serializers.CharField()
    brand = serializers.CharField()
    last4 = serializers.CharField()


class OrderRefundSerializer(serializers.Serializer):
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["awaiting_approval", "processing", "refunded", "under_review"])
    label = serializers.CharField()
    purpose = serializers.ChoiceField(choices=["cancellation", "return"])
    rma_number = serializers.CharField()
    requested_at = serializers.DateTimeField()
    refunded_at = serializers.DateTimeField(allow_null=True)


class OrderDetailSerializer(OrderOutSerializer):
    timeline = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()
    refunds = serializers.SerializerMethodField()

    class Meta(OrderOutSerializer.Meta):
        fields = [*OrderOutSerializer.Meta.fields, "shipments", "payments", "refunds", "transitions", "timeline"]

    @extend_schema_field(TransitionSerializer(many=True))
    def get_transitions(self, order: Order) -> list[dict]:
        return TransitionSerializer(order_history(order=order), many=True).data

    @extend_schema_field(OrderRefundSerializer(many=True))
    def get_refunds(self, order: Order) -> list[dict]:
        return OrderRefundSerializer(order_refunds_for_customer(order=order), many=True).data

    @extend_schema_field(OrderShipmentSerializer(many=True))
    def get_shipments(self, order: Order) -> list[dict]:
        return OrderShipmentSerializer(order_shipments(order=order), many=True).data

    @extend_schema_field(OrderPaymentSerializer(many=True))
    def get_payments(self, order: Order) -> list[dict]:
        return OrderPaymentSerializer(order_payments(order=order), many=True).data

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, order: Order) -> list[dict]:
        return TimelineEntrySerializer(order_timeline(order=order), many=True).data


class CheckoutProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (documentation only: the kernel's handler writes them)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    order_number = serializers.CharField(required=False)
    decline_code = serializers.CharField(required=False)
    shortages = serializers.ListField(child=serializers.DictField(), required=False)
