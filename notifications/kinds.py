"""The catalog of notification kinds: what each is about, its channels, and sample data for previews.

``Channel`` and ``Category`` live here rather than in ``models``: the catalog is built from them
and ``models`` reads the catalog, so the import goes one way.

Default templates live in ``templates/notifications/<kind>/``:
``subject.txt`` (email subject, push title), ``body.txt`` and ``body.html``
(email parts) and ``short.txt`` (SMS text, push body).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"


class Category(models.TextChoices):
    """What a message is about; customers choose per category and channel (except essentials)."""

    ORDER_UPDATES = "order_updates", "Order updates"
    SHIPPING_UPDATES = "shipping_updates", "Shipping updates"
    BILLING = "billing", "Billing"
    MARKETING = "marketing", "Marketing"
    BACK_IN_STOCK = "back_in_stock", "Back-in-stock alerts"
    NEW_ARRIVALS = "new_arrivals", "New arrivals (members' early access)"
    ACCOUNT = "account", "Account"  # welcome and the like: transactional, not a preference
    STAFF_ALERTS = "staff_alerts", "Staff alerts"


EMAIL, SMS, PUSH = Channel.EMAIL.value, Channel.SMS.value, Channel.PUSH.value

_SAMPLE_ORDER = {
    "order_number": "FM-7Q2K9D4X",
    "customer_name": "Casey Customer",
    "currency": "USD",
    "subtotal_minor": 5998,
    "shipping_minor": 499,
    "discount_minor": 0,
    "total_minor": 6497,
    "shipping_method": "Standard",
    "shipping_address": {
        "name": "Casey Customer",
        "line1": "1 Main Street",
        "line2": "",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
        "phone": "+15555550100",
    },
    "lines": [
        {"sku": "TEE-M-BLU", "name": "Tee M / Blue", "quantity": 2, "unit_price_minor": 2999, "line_total_minor": 5998}
    ],
    "order_url": "http://127.0.0.1:8000/orders/FM-7Q2K9D4X/",
}
_SAMPLE_SHIPMENT = {
    "order_number": "FM-7Q2K9D4X",
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": "http://127.0.0.1:8000/tracking/1Z999AA10123456784/",
    "carrier": "UPS",
    "status_detail": "Arrived at the regional sorting centre",
    "location": "Chicago, IL",
    "reason": "Nobody was home",
    "estimated_delivery_date": "2026-11-25",
}
_SAMPLE_SUBSCRIPTION = {
    "plan_name": "FlowMart Plus",
    "amount_minor": 999,
    "currency": "USD",
    "period_end": "2026-12-21",
    "invoice_number": "INV-0042",
    "retry_url": "http://127.0.0.1:8000/membership/manage/",
    "subscriptions_url": "http://127.0.0.1:8000/membership/manage/",
    "reason": "",
}


_SAMPLE_PRODUCT = {
    "sku": "TEE-M-BLU",
    "product_name": "Everyday Cotton Tee",
    "variant_name": "M / Blue",
    "product_url": "http://127.0.0.1:8000/products/everyday-cotton-tee/",
}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    category: str
    channels: tuple[str, ...] = (EMAIL,)
    # Essentials always go out by email, whatever the customer's preferences (order confirmation, payment failure).
    essential: bool = False
    sample: dict = field(default_factory=dict)


KINDS: dict[str, Kind] = {
    k.key: k
    for k in [
        Kind(
            "welcome",
            "Welcome",
            Category.ACCOUNT,
            (EMAIL,),
            sample={"full_name": "Casey Customer", "email": "casey@example.com"},
        ),
        Kind(
            "order_link",
            "Link to your order (guests)",
            Category.ACCOUNT,
            (EMAIL,),
            True,
            sample={
                "order_number": "FM-7Q2K9D4X",
                "order_url": "http://127.0.0.1:8000/orders/link/eyJvIjoiRk0tN1EySzlENFgifQ:1abc:sig/",
                "link_days": 90,
            },
        ),
        Kind(
            "order_confirmed", "Order confirmed", Category.ORDER_UPDATES, (EMAIL, SMS, PUSH), True, dict(_SAMPLE_ORDER)
        ),
        Kind(
            "order_payment_failed",
            "Payment failed",
            Category.BILLING,
            (EMAIL, SMS, PUSH),
            True,
            {
                "order_number": "FM-7Q2K9D4X",
                "total_minor": 6497,
                "currency": "USD",
                "decline_code": "insufficient_funds",
                "retry_until": "2026-11-22T12:00:00+00:00",
                "retry_url": "http://127.0.0.1:8000/orders/FM-7Q2K9D4X/pay/",
            },
        ),
        Kind(
            "order_on_hold",
            "Order on hold",
            Category.ORDER_UPDATES,
            (EMAIL, PUSH),
            sample={"order_number": "FM-7Q2K9D4X", "reason": "An item is out of stock", "expected_delay_days": 3},
        ),
        Kind(
            "order_cancelled",
            "Order cancelled",
            Category.ORDER_UPDATES,
            (EMAIL, PUSH),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "reason": "Cancelled at your request",
                "cancelled_by": "customer",
                "refunded_minor": 6497,
                "currency": "USD",
            },
        ),
        Kind(
            "order_refunded",
            "Refund issued",
            Category.BILLING,
            (EMAIL, PUSH),
            sample={"order_number": "FM-7Q2K9D4X", "amount_minor": 2999, "currency": "USD", "reason": "Returned item"},
        ),
        Kind(
            "shipment_dispatched",
            "Shipment dispatched",
            Category.SHIPPING_UPDATES,
            (EMAIL, SMS, PUSH),
            sample=dict(_SAMPLE_SHIPMENT),
        ),
        Kind(
            "shipment_in_transit",
            "Shipment in transit",
            Category.SHIPPING_UPDATES,
            (EMAIL, PUSH),
            sample=dict(_SAMPLE_SHIPMENT),
        ),
        Kind(
            "shipment_delivered",
            "Shipment delivered",
            Category.SHIPPING_UPDATES,
            (EMAIL, SMS, PUSH),
            sample=dict(_SAMPLE_SHIPMENT),
        ),
        Kind(
            "delivery_failed",
            "Delivery failed",
            Category.SHIPPING_UPDATES,
            (EMAIL, SMS, PUSH),
            sample={
                **_SAMPLE_SHIPMENT,
                "attempt": 1,
                "returned_to_sender": False,
                "estimate_source": "carrier",
                "choices": ["redeliver", "pickup"],
                "pickup_point": "Springfield post office",
            },
        ),
        Kind(
            "delivery_failed_alert",
            "Delivery failed (staff: Warehouse)",
            Category.STAFF_ALERTS,
            (EMAIL,),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "shipment_number": "SHP-7Q2K9D4X",
                "tracking_number": "1Z999AA10123456784",
                "attempt": 1,
                "reason": "Nobody was home",
                "returned_to_sender": False,
                "max_attempts": 3,
            },
        ),
        Kind(
            "return_refused_alert",
            "Carrier refused to return a parcel (staff: Warehouse)",
            Category.STAFF_ALERTS,
            (EMAIL,),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "shipment_number": "SHP-7Q2K9D4X",
                "attempt": 3,
                "detail": "The easypost carrier takes no delivery instructions.",
            },
        ),
        Kind(
            "return_initiated",
            "Return started",
            Category.SHIPPING_UPDATES,
            (EMAIL, PUSH),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "rma_number": "RMA-1001",
                "return_url": "http://127.0.0.1:8000/returns/RMA-1001/",
            },
        ),
        Kind(
            "return_received",
            "Return received",
            Category.SHIPPING_UPDATES,
            (EMAIL, PUSH),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "rma_number": "RMA-1001",
                "decision": "refund",
                "lines": [
                    {
                        "sku": "TEE-M-BLU",
                        "name": "Tee",
                        "quantity": 1,
                        "refund_minor": 2500,
                        "refundable": True,
                        "not_refundable_reason": "",
                    }
                ],
                "goods_refund_minor": 2500,
                "shipping_refund_minor": 499,
                "amount_minor": 2999,
                "currency": "USD",
            },
        ),
        Kind(
            "subscription_started",
            "Subscription started",
            Category.BILLING,
            (EMAIL, PUSH),
            sample=dict(_SAMPLE_SUBSCRIPTION),
        ),
        Kind(
            "subscription_renewed",
            "Subscription renewed",
            Category.BILLING,
            (EMAIL, PUSH),
            sample=dict(_SAMPLE_SUBSCRIPTION),
        ),
        Kind(
            "subscription_payment_failed",
            "Subscription payment failed",
            Category.BILLING,
            (EMAIL, SMS, PUSH),
            True,
            dict(_SAMPLE_SUBSCRIPTION),
        ),
        Kind(
            "subscription_cancelled",
            "Subscription cancelled",
            Category.BILLING,
            (EMAIL, PUSH),
            sample=dict(_SAMPLE_SUBSCRIPTION),
        ),
        Kind(
            "order_amended",
            "Order changed",
            Category.ORDER_UPDATES,
            (EMAIL, PUSH),
            sample={**_SAMPLE_ORDER, "changes": ["quantity of TEE-M-BLU changed to 2"]},
        ),
        Kind(
            "order_failed",
            "Order could not be completed",
            Category.ORDER_UPDATES,
            (EMAIL,),
            sample={"order_number": "FM-7Q2K9D4X", "reason": "An item sold out", "code": "insufficient_stock"},
        ),
        Kind(
            "subscription_paused",
            "Subscription paused",
            Category.BILLING,
            (EMAIL,),
            sample={**_SAMPLE_SUBSCRIPTION, "paused_at": "2026-11-21T10:00:00+00:00"},
        ),
        Kind(
            "subscription_resumed",
            "Subscription resumed",
            Category.BILLING,
            (EMAIL,),
            sample={**_SAMPLE_SUBSCRIPTION, "period_end": "2026-12-28T00:00:00+00:00"},
        ),
        Kind(
            "return_approved",
            "Return approved",
            Category.SHIPPING_UPDATES,
            (EMAIL, PUSH),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "rma_number": "RMA-1001",
                "return_tracking_number": "RT123456",
                "return_url": "http://127.0.0.1:8000/returns/RMA-1001/",
            },
        ),
        Kind(
            "return_rejected",
            "Return rejected",
            Category.SHIPPING_UPDATES,
            (EMAIL, PUSH),
            sample={
                "order_number": "FM-7Q2K9D4X",
                "rma_number": "RMA-1001",
                "reason": "The return window has closed",
                "return_url": "http://127.0.0.1:8000/returns/RMA-1001/",
            },
        ),
        Kind(
            "subscription_cancellation_scheduled",
            "Subscription ends at period end",
            Category.BILLING,
            (EMAIL,),
            sample={**_SAMPLE_SUBSCRIPTION, "ends_at": "2026-12-21T00:00:00+00:00"},
        ),
        Kind(
            "subscription_plan_changed",
            "Subscription plan changed",
            Category.BILLING,
            (EMAIL,),
            sample={
                **_SAMPLE_SUBSCRIPTION,
                "direction": "upgrade",
                "proration_charged_minor": 500,
                "proration_credit_minor": 0,
            },
        ),
        Kind(
            "chargeback_opened",
            "Chargeback opened (staff)",
            Category.STAFF_ALERTS,
            (EMAIL,),
            sample={
                "reference": "order:FM-7Q2K9D4X",
                "dispute_id": "dp_123",
                "amount_minor": 6497,
                "currency": "USD",
                "reason": "fraudulent",
            },
        ),
        Kind(
            "chargeback_resolved",
            "Chargeback decided (staff)",
            Category.STAFF_ALERTS,
            (EMAIL,),
            sample={
                "reference": "order:FM-7Q2K9D4X",
                "dispute_id": "dp_123",
                "outcome": "lost",
                "amount_minor": 6497,
                "loss_minor": 6497,
                "fee_minor": 1500,
                "currency": "USD",
            },
        ),
        Kind(
            "feedback_request",
            "How did we do?",
            Category.ORDER_UPDATES,
            (EMAIL,),
            sample={"order_number": "FM-7Q2K9D4X", "feedback_url": "http://127.0.0.1:8000/feedback/sample/"},
        ),
        Kind(
            "low_stock",
            "Low stock (staff)",
            Category.STAFF_ALERTS,
            (EMAIL,),
            sample={
                "sku": "TEE-M-BLU",
                "product_name": "Tee",
                "available": 3,
                "threshold": 5,
                "warehouse_code": "MAIN",
            },
        ),
        Kind(
            "out_of_stock",
            "Out of stock (staff)",
            Category.STAFF_ALERTS,
            (EMAIL,),
            sample={
                "sku": "TEE-M-BLU",
                "product_name": "Tee",
                "available": 0,
                "threshold": 5,
                "warehouse_code": "MAIN",
            },
        ),
        Kind(
            "back_in_stock",
            "Back in stock",
            Category.BACK_IN_STOCK,
            (EMAIL, SMS, PUSH),
            sample=dict(_SAMPLE_PRODUCT),
        ),
        Kind(
            "back_in_stock_confirm",
            "Confirm your back-in-stock alert",
            Category.ACCOUNT,
            (EMAIL,),
            sample={**_SAMPLE_PRODUCT, "confirm_url": "http://127.0.0.1:8000/notifications/back-in-stock/sample/"},
        ),
        Kind(
            "new_arrival",
            "New arrival: members' early access",
            Category.NEW_ARRIVALS,
            (EMAIL, PUSH),
            sample={
                "product_name": "Trail Merino Hoodie",
                "product_url": "http://127.0.0.1:8000/products/trail-merino-hoodie/",
                "early_access_at": "2026-11-20T09:00:00+00:00",
                "on_sale_at": "2026-11-27T09:00:00+00:00",
                "price_min_minor": 7900,
                "currency": "USD",
            },
        ),
    ]
}


class UnknownKind(LookupError):
    pass


def kind_get(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        raise UnknownKind(key) from None


def kind_choices() -> list[tuple[str, str]]:
    return [(k.key, k.label) for k in KINDS.values()]
