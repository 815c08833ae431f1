"""Input and output shapes of the orders API. Validation of shape only; rules live in services."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flowmart.api.schema import ProblemOutSerializer
from orders import timeline_text
from orders.models import Order
from orders.selectors import (
    order_actions,
    order_history,
    order_payments,
    order_refunds_for_customer,
    order_shipments,
    order_timeline,
)
from shipping import selectors as shipping_selectors


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
    id = serializers.CharField(source="public_id", allow_null=True, help_text="null: no basket yet")
    currency = serializers.CharField()
    lines = BasketLineOutSerializer(many=True)
    item_count = serializers.IntegerField()
    subtotal_minor = serializers.IntegerField()
    can_checkout = serializers.BooleanField()
    notices = serializers.ListField(child=serializers.CharField())


class LineQuantityField(serializers.IntegerField):
    """A basket quantity: the schema states the ``BASKET_MAX_QUANTITY`` limit (``maximum``), the basket service
    enforces it (400 ``quantity_not_allowed`` with a message a shopper can read, the same in the page)."""

    def __init__(self, **kwargs):
        super().__init__(max_value=settings.BASKET_MAX_QUANTITY, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, MaxValueValidator)]


class BasketLineAddInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = LineQuantityField(min_value=1, default=1)


class BasketLineUpdateInSerializer(serializers.Serializer):
    quantity = LineQuantityField(min_value=0, help_text="0 removes the line")


# -- checkout ----------------------------------------------------------------------
class AddressInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(min_length=2, max_length=2)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class CheckoutInSerializer(serializers.Serializer):
    shipping_address = AddressInSerializer()
    shipping_method = serializers.CharField(max_length=64)
    payment_method = serializers.CharField(max_length=255)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    expected_total_minor = serializers.IntegerField(required=False, min_value=0)


class PaymentRetryInSerializer(serializers.Serializer):
    payment_method = serializers.CharField(max_length=255)


class OrderCancelInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AmendLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=0)


class AmendInSerializer(serializers.Serializer):
    lines = AmendLineInSerializer(many=True, required=False, default=list)
    shipping_address = AddressInSerializer(required=False)


# -- orders --------------------------------------------------------------------------
class OrderLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    variant_name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()


class TotalsOutSerializer(serializers.Serializer):
    currency = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    discount_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField(help_text="money back already (a refund awaiting approval is not in it)")
    refund_pending_minor = serializers.IntegerField(help_text="refunds awaiting approval by our team")


class OrderSummaryOutSerializer(serializers.ModelSerializer):
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["number", "status", "placed_at", "totals"]

    def get_totals(self, order: Order) -> dict:
        return TotalsOutSerializer(order).data


class OrderOutSerializer(OrderSummaryOutSerializer):
    lines = OrderLineOutSerializer(many=True)
    disputed = serializers.BooleanField(
        help_text="the customer's bank is disputing a payment of this order (a chargeback is open)"
    )
    email = serializers.EmailField()
    shipping_address = serializers.JSONField()
    actions = serializers.SerializerMethodField()
    retry_until = serializers.DateTimeField(allow_null=True)
    decline_code = serializers.CharField()

    class Meta(OrderSummaryOutSerializer.Meta):
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
            "disputed",
            "actions",
        ]

    def get_actions(self, order: Order) -> list[str]:
        return order_actions(order=order)


class TimelineDetailsOutSerializer(serializers.Serializer):
    """What of an event's payload a customer may see: a fixed, typed set. The payload itself is internal (account
    ids, warehouse codes, allocations, gateway references stay out). A field the event does not carry is null."""

    amount_minor = serializers.IntegerField(allow_null=True)
    total_minor = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    changes = serializers.ListField(child=serializers.CharField(), allow_null=True)
    tracking_number = serializers.CharField(allow_null=True)
    carrier = serializers.CharField(allow_null=True)
    location = serializers.CharField(allow_null=True)
    attempt = serializers.IntegerField(allow_null=True)
    estimated_delivery_date = serializers.CharField(allow_null=True, help_text="YYYY-MM-DD")
    rma_number = serializers.CharField(allow_null=True)

    def to_representation(self, payload: dict) -> dict:
        return super().to_representation({name: payload.get(name) for name in self.fields})


class TimelineEntryOutSerializer(serializers.Serializer):
    """One step of the order's story as the customer may see it (steps that are not theirs are left out)."""

    name = serializers.ChoiceField(choices=sorted(timeline_text.CUSTOMER_EVENTS), help_text="the event")
    producer = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    text = serializers.SerializerMethodField(help_text="the step in words, as the order page shows it")
    details = TimelineDetailsOutSerializer(source="payload")

    def get_text(self, entry) -> str:
        return timeline_text.describe(name=entry.name, payload=entry.payload) or ""


class TransitionOutSerializer(serializers.Serializer):
    transition = serializers.CharField()
    from_status = serializers.CharField(source="from_state")
    to_status = serializers.CharField(source="to_state")
    actor = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class OrderDeliveryFailureOutSerializer(serializers.Serializer):
    """The latest failed delivery attempt of a parcel (shipping's ``DeliveryFailureInfo``)."""

    attempt = serializers.IntegerField()
    reason = serializers.CharField(help_text="The carrier's words")
    failed_at = serializers.DateTimeField()
    estimated_delivery_date = serializers.DateField(allow_null=True, help_text="The new estimate (null until known)")
    estimate_source = serializers.ChoiceField(
        choices=["carrier", "shop_rule", ""], help_text="carrier: the carrier's; shop_rule: the carrier gave none"
    )
    choices = serializers.ListField(
        child=serializers.ChoiceField(choices=["redeliver", "pickup"]),
        help_text="What the customer may choose now: POST shipping's orders/{number}/shipments/{shipment}/delivery-choice/",
    )
    pickup_point = serializers.CharField()
    choice = serializers.ChoiceField(choices=["redeliver", "pickup", ""], help_text="What the customer chose")


class OrderShipmentOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    failed_attempts = serializers.IntegerField()
    delivery_failure = OrderDeliveryFailureOutSerializer(allow_null=True)


class OrderPaymentOutSerializer(serializers.Serializer):
    status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    captured_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    currency = serializers.CharField()
    brand = serializers.CharField()
    last4 = serializers.CharField()


class OrderRefundOutSerializer(serializers.Serializer):
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=["awaiting_approval", "processing", "refunded", "under_review"])
    label = serializers.CharField()
    purpose = serializers.ChoiceField(choices=["cancellation", "return"])
    rma_number = serializers.CharField()
    requested_at = serializers.DateTimeField()
    refunded_at = serializers.DateTimeField(allow_null=True)


class OrderDetailOutSerializer(OrderOutSerializer):
    timeline = serializers.SerializerMethodField()
    transitions = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()
    refunds = serializers.SerializerMethodField()

    class Meta(OrderOutSerializer.Meta):
        fields = [*OrderOutSerializer.Meta.fields, "shipments", "payments", "refunds", "transitions", "timeline"]

    @extend_schema_field(TransitionOutSerializer(many=True))
    def get_transitions(self, order: Order) -> list[dict]:
        return TransitionOutSerializer(order_history(order=order), many=True).data

    @extend_schema_field(OrderRefundOutSerializer(many=True))
    def get_refunds(self, order: Order) -> list[dict]:
        return OrderRefundOutSerializer(order_refunds_for_customer(order=order), many=True).data

    @extend_schema_field(OrderShipmentOutSerializer(many=True))
    def get_shipments(self, order: Order) -> list[dict]:
        return OrderShipmentOutSerializer(order_shipments(order=order), many=True).data

    @extend_schema_field(OrderPaymentOutSerializer(many=True))
    def get_payments(self, order: Order) -> list[dict]:
        return OrderPaymentOutSerializer(order_payments(order=order), many=True).data

    @extend_schema_field(TimelineEntryOutSerializer(many=True))
    def get_timeline(self, order: Order) -> list[dict]:
        entries = [e for e in order_timeline(order=order) if e.name in timeline_text.CUSTOMER_EVENTS]
        return TimelineEntryOutSerializer(entries, many=True).data


class CheckoutProblemOutSerializer(ProblemOutSerializer):
    """A checkout's problem document, with the fields some of its codes add."""

    order_number = serializers.CharField(required=False)
    decline_code = serializers.CharField(required=False)
    shortages = serializers.ListField(child=serializers.DictField(), required=False)
    skus = serializers.ListField(child=serializers.CharField(), required=False, help_text="not_on_sale_yet")
    on_sale_at = serializers.DictField(
        child=serializers.DateTimeField(), required=False, help_text="not_on_sale_yet: when each SKU opens"
    )


class ExchangeLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text="The delivered item to send back")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    replacement_sku = serializers.CharField(
        max_length=64, help_text="Another variant of the same product (or the same sku for a like-for-like swap)"
    )


class ExchangeInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    reason_code = serializers.ChoiceField(
        choices=shipping_selectors.return_reason_codes(),
        default="other",
        help_text="arrived_damaged and wrong_item are the shop's fault",
    )
    lines = ExchangeLineInSerializer(many=True, allow_empty=False)


class ExchangeLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    replacement_sku = serializers.CharField()
    charged_minor = serializers.IntegerField(help_text="What was paid for the returned units, after every discount")
    replacement_charged_minor = serializers.IntegerField(
        help_text="What the replacements cost at the customer's discount on that line: a higher amount is charged "
        "to the order's card when the replacement is reserved, a lower one refunded once it ships"
    )


class ExchangeOutSerializer(serializers.Serializer):
    """The return that carries the exchange; it is followed at ``GET /api/v1/returns/{rma_number}/``."""

    rma_number = serializers.CharField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    requested = serializers.CharField(help_text="exchange")
    currency = serializers.CharField()
    lines = ExchangeLineOutSerializer(many=True, source="lines.all")
