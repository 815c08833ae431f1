"""Shipping, refunds, subscriptions and stock alerts: each event becomes the right message."""

from __future__ import annotations

from django.core import mail

from inventory.events import LowStock, OutOfStock
from notifications.models import Notification, SandboxMessage
from payments.events import PaymentRefunded
from shipping.events import (
    DeliveryFailed,
    DeliveryRescheduled,
    ReturnInitiated,
    ReturnReceived,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentInTransit,
)
from subscriptions.events import (
    InvoicePaymentFailed,
    SubscriptionRenewed,
    UserSubscriptionCancelled,
    UserSubscriptionStarted,
)
from tests.notifications.events import ORDER
from tests.notifications.factories import DeviceFactory
from tests.users.factories import UserFactory


def _who(user) -> dict:
    return {
        "correlation_id": ORDER,
        "order_number": ORDER,
        "user_id": str(user.public_id),
        "customer_email": user.email,
    }


def dispatched(user) -> ShipmentDispatched:
    return ShipmentDispatched(
        **_who(user),
        shipment_number="SH-1001",
        kind="order",
        warehouse_code="MAIN",
        carrier="Sandbox Express",
        tracking_number="SBX123456789",
        tracking_url="http://127.0.0.1:8000/tracking/SBX123456789/",
        lines=[{"sku": "TEE-M-BLU", "name": "Tee M / Blue", "quantity": 2}],
        dispatched_at="2026-11-21T12:00:00+00:00",
    )


def test_dispatch_email_sms_and_push_carry_tracking_number_and_link(sms_phone_customer, deliver):
    DeviceFactory(user=sms_phone_customer, token="device-1")

    deliver(dispatched(sms_phone_customer))

    email = mail.outbox[0]
    assert email.subject == "Order FM-7Q2K9D4X is on its way"
    assert "Tracking number: SBX123456789" in email.body
    assert "Track it: http://127.0.0.1:8000/tracking/SBX123456789/" in email.body
    assert "2 × Tee M / Blue" in email.body
    assert 'href="http://127.0.0.1:8000/tracking/SBX123456789/"' in email.alternatives[0][0]
    sms = SandboxMessage.objects.get(channel="sms")
    assert (sms.to, sms.body) == (
        "+15555550123",
        "FlowMart: order FM-7Q2K9D4X has shipped. Tracking SBX123456789: http://127.0.0.1:8000/tracking/SBX123456789/",
    )
    assert SandboxMessage.objects.get(channel="push").title == "Order FM-7Q2K9D4X is on its way"
    assert Notification.objects.filter(status="sent").count() == 3


def test_in_transit_update(customer, deliver):
    deliver(
        ShipmentInTransit(
            **_who(customer),
            shipment_number="SH-1001",
            tracking_number="SBX123456789",
            tracking_url="http://127.0.0.1:8000/tracking/SBX123456789/",
            location="Chicago, IL",
            reattempt=False,
        )
    )

    assert mail.outbox[0].subject == "Update on your parcel SBX123456789"
    assert "Your parcel for order FM-7Q2K9D4X is on the move: last seen in Chicago, IL." in mail.outbox[0].body


def test_delivered_and_delivery_failed(customer, deliver):
    deliver(
        DeliveryFailed(
            **_who(customer),
            shipment_number="SH-1001",
            tracking_number="SBX123456789",
            attempt=1,
            reason="Nobody was home",
            returned_to_sender=False,
        ),
        ShipmentDelivered(
            **_who(customer),
            shipment_number="SH-1001",
            kind="order",
            tracking_number="SBX123456789",
            delivered_at="2026-11-22T15:00:00+00:00",
            all_delivered=True,
        ),
    )

    # A failed attempt alone tells the customer nothing yet: the message waits for the new estimate.
    [delivered] = mail.outbox
    assert delivered.subject == "Order FM-7Q2K9D4X delivered"


def test_failed_attempt_with_the_new_estimate(customer, deliver):
    deliver(
        DeliveryRescheduled(
            **_who(customer),
            shipment_number="SH-1001",
            tracking_number="SBX123456789",
            tracking_url="http://127.0.0.1:8000/tracking/SBX123456789/",
            attempt=1,
            reason="Nobody was home",
            estimated_delivery_date="2026-11-24",
            estimate_source="shop_rule",
            choices=[],
            pickup_point="",
        )
    )

    [failed] = mail.outbox
    assert failed.subject == "We could not deliver order FM-7Q2K9D4X"
    assert "(tracking SBX123456789): Nobody was home." in failed.body
    assert "New estimated delivery: Tuesday 24 November 2026 (our estimate: the carrier gave none)." in failed.body
    assert "The carrier will try again." in failed.body


def test_parcel_returned_to_sender(customer, deliver):
    deliver(
        DeliveryFailed(
            **_who(customer),
            shipment_number="SH-1001",
            tracking_number="SBX123456789",
            attempt=3,
            reason="Address not accessible",
            returned_to_sender=True,
        )
    )

    [failed] = mail.outbox
    assert "(tracking SBX123456789): Address not accessible." in failed.body
    assert "The parcel is on its way back to us; we will refund you or arrange a new delivery." in failed.body


def test_returns(customer, deliver):
    deliver(
        ReturnInitiated(
            **_who(customer),
            rma_number="RMA-1001",
            reason="Too small",
            lines=[{"sku": "TEE-M-BLU", "name": "Tee M / Blue", "quantity": 1, "unit_price_minor": 2999}],
            currency="USD",
        ),
        ReturnReceived(
            **_who(customer),
            rma_number="RMA-1001",
            decision="refund",
            lines=[{"sku": "TEE-M-BLU", "name": "Tee M / Blue", "quantity": 1}],
            refund_minor=2999,
            currency="USD",
            replacement_skus=[],
            warehouse_code="MAIN",
        ),
    )

    started, received = mail.outbox
    assert started.subject == "Return RMA-1001 for order FM-7Q2K9D4X started"
    assert "1 × Tee M / Blue" in started.body
    assert received.subject == "We received your return RMA-1001"
    assert "We are refunding $29.99 to your original payment method." in received.body


def test_refund(customer, deliver):
    deliver(
        PaymentRefunded(
            correlation_id=ORDER,
            payment_id="8c0d9f0e-0000-4000-8000-000000000001",
            refund_id="8c0d9f0e-0000-4000-8000-000000000002",
            reference=f"order:{ORDER}",
            amount_minor=2999,
            refunded_total_minor=2999,
            currency="USD",
            reason="Returned item",
            fully_refunded=False,
            user_id=str(customer.public_id),
            customer_email=customer.email,
        )
    )

    assert mail.outbox[0].subject == "Refund of $29.99 for FM-7Q2K9D4X"
    assert "We have refunded $29.99 for FM-7Q2K9D4X (Returned item)." in mail.outbox[0].body


def _sub(user) -> dict:
    return {
        "correlation_id": "sub:7d1e0000-0000-4000-8000-000000000001",
        "subscription_id": "7d1e0000-0000-4000-8000-000000000001",
        "user_id": str(user.public_id),
        "customer_email": user.email,
        "customer_name": user.full_name,
        "plan_code": "plus-monthly",
        "plan_name": "FlowMart Plus",
        "tier_name": "Plus",
    }


def test_subscription_lifecycle_messages(customer, deliver):
    deliver(
        UserSubscriptionStarted(
            **_sub(customer),
            status="active",
            trial_end=None,
            current_period_start="2026-11-21T00:00:00+00:00",
            current_period_end="2026-12-21T00:00:00+00:00",
            amount_minor=999,
            price_minor=999,
            currency="USD",
            interval="month",
            payment_method_token="tok_visa",
        ),
        SubscriptionRenewed(
            **_sub(customer),
            invoice_number="INV-0042",
            current_period_start="2026-12-21T00:00:00+00:00",
            current_period_end="2027-01-21T00:00:00+00:00",
            amount_minor=999,
            currency="USD",
        ),
        InvoicePaymentFailed(
            correlation_id="sub:7d1e0000-0000-4000-8000-000000000001",
            invoice_number="INV-0043",
            subscription_id="7d1e0000-0000-4000-8000-000000000001",
            user_id=str(customer.public_id),
            customer_email=customer.email,
            amount_minor=999,
            currency="USD",
            attempt=1,
            decline_code="expired_card",
            next_attempt_at="2027-01-24T00:00:00+00:00",
            final=False,
        ),
        UserSubscriptionCancelled(**_sub(customer), reason="payment_failed", cancelled_at="2027-01-30T00:00:00+00:00"),
    )

    assert [m.subject for m in mail.outbox] == [
        "Welcome to FlowMart Plus",
        "Your FlowMart Plus subscription renewed",
        "Payment for invoice INV-0043 failed",
        "Your FlowMart Plus subscription has ended",
    ]
    assert "We charged $9.99; the next renewal is on Dec. 21, 2026, 00:00 UTC." in mail.outbox[0].body
    assert "We will try again on Jan. 24, 2027, 00:00 UTC." in mail.outbox[2].body
    assert "because we could not take the payment" in mail.outbox[3].body


def test_stock_alerts_go_to_staff_only(customer, staff_user, deliver):
    UserFactory(email="inactive-staff@example.com", is_staff=True, is_active=False)
    other_staff = UserFactory(email="buyer@example.com", is_staff=True)

    deliver(
        LowStock(
            correlation_id="sku:TEE-M-BLU",
            sku="TEE-M-BLU",
            product_name="Tee",
            warehouse_code="MAIN",
            available=3,
            threshold=5,
        ),
        OutOfStock(correlation_id="sku:MUG-WHT", sku="MUG-WHT", product_name="Mug", product_slug="mug"),
    )

    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        (other_staff.email, "[Stock] Low stock: TEE-M-BLU (3 left)"),
        (other_staff.email, "[Stock] Out of stock: MUG-WHT"),
        (staff_user.email, "[Stock] Low stock: TEE-M-BLU (3 left)"),
        (staff_user.email, "[Stock] Out of stock: MUG-WHT"),
    ]
    low = next(m for m in mail.outbox if m.subject.startswith("[Stock] Low"))
    assert "Tee (TEE-M-BLU) is running low in warehouse MAIN: 3 available, threshold 5." in low.body


def test_order_amended_lists_the_changes_and_new_total(customer, deliver):
    from orders.events import OrderAmended

    deliver(
        OrderAmended(
            **_who(customer),
            currency="USD",
            total_minor=3498,
            shipping_address={"name": "Casey", "line1": "1 Main Street", "city": "Springfield", "country": "US"},
            lines=[{"sku": "TEE-M-BLU", "name": "Tee M / Blue", "quantity": 1, "line_total_minor": 2999}],
            changes=["quantity of TEE-M-BLU changed from 2 to 1"],
        )
    )

    email = mail.outbox[0]
    assert email.subject == "Order FM-7Q2K9D4X was changed"
    assert "- quantity of TEE-M-BLU changed from 2 to 1" in email.body
    assert "1 × Tee M / Blue  $29.99" in email.body
    assert "New total: $34.98" in email.body


def test_return_approved_and_rejected(customer, deliver):
    from shipping.events import ReturnApproved, ReturnRejected

    deliver(
        ReturnApproved(**_who(customer), rma_number="RMA-1", return_tracking_number="RT-555"),
        ReturnRejected(**_who(customer), rma_number="RMA-2", reason="The return window has closed"),
    )

    approved, rejected = mail.outbox
    assert approved.subject == "Return RMA-1 approved"
    assert "its tracking number is RT-555." in approved.body
    assert "Your return: http://127.0.0.1:8000/returns/RMA-1/" in approved.body
    assert rejected.subject == "Return RMA-2 could not be accepted"
    assert "(The return window has closed)" in rejected.body


def test_subscription_cancellation_scheduled_and_plan_change(customer, deliver):
    from subscriptions.events import SubscriptionCancellationScheduled, SubscriptionPlanChanged

    deliver(
        SubscriptionPlanChanged(
            **_sub(customer),
            previous_plan_code="basic-monthly",
            direction="upgrade",
            proration_charged_minor=500,
            proration_credit_minor=0,
            currency="USD",
        ),
        SubscriptionCancellationScheduled(**_sub(customer), ends_at="2026-12-21T00:00:00+00:00"),
    )

    changed, scheduled = mail.outbox
    assert changed.subject == "You are now on FlowMart Plus"
    assert "We charged $5.00 for the rest of this period." in changed.body
    assert scheduled.subject == "Your FlowMart Plus subscription will end on Dec. 21, 2026"
    assert "Your perks continue until Dec. 21, 2026, 00:00 UTC." in scheduled.body


def test_chargeback_alerts_go_to_finance(customer, staff_user, deliver):
    from django.contrib.auth.models import Group

    from payments.events import ChargebackOpened, ChargebackResolved
    from tests.users.factories import UserFactory

    finance, _ = Group.objects.get_or_create(name="Finance")
    member = UserFactory(email="fin@example.com", is_staff=True)
    member.groups.add(finance)
    facts = {
        "correlation_id": ORDER,
        "payment_id": "8c0d9f0e-0000-4000-8000-000000000001",
        "dispute_id": "dp_123",
        "reference": f"order:{ORDER}",
        "amount_minor": 7497,
        "currency": "USD",
    }

    deliver(ChargebackOpened(**facts, reason="fraudulent", fee_minor=1500))
    deliver(ChargebackResolved(**facts, outcome="lost", loss_minor=7497, fee_minor=1500))

    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["fin@example.com"], "[Payments] Chargeback opened on order:FM-7Q2K9D4X"),
        (["fin@example.com"], "[Payments] Chargeback lost on order:FM-7Q2K9D4X"),
    ]  # staff outside Finance (staff@example.com) are not told
    assert "Recorded loss: $74.97 plus a dispute fee of $15.00." in mail.outbox[1].body


def test_a_flapping_stock_level_alerts_staff_once_a_day(staff_user, deliver):
    def low():
        return LowStock(
            correlation_id="sku:TEE-M-BLU",
            sku="TEE-M-BLU",
            product_name="Tee",
            warehouse_code="MAIN",
            available=4,
            threshold=5,
        )

    deliver(low(), low(), low())

    assert [m.subject for m in mail.outbox] == ["[Stock] Low stock: TEE-M-BLU (4 left)"]


def test_order_failed_tells_the_customer_they_were_not_charged(customer, deliver):
    from orders.events import OrderFailed

    deliver(OrderFailed(**_who(customer), reason="An item sold out", code="insufficient_stock"))

    assert mail.outbox[0].subject == "We could not complete order FM-7Q2K9D4X"
    assert "You have not been charged" in mail.outbox[0].body


def test_subscription_paused_and_resumed(customer, deliver):
    from subscriptions.events import SubscriptionPaused, SubscriptionResumed

    deliver(
        SubscriptionPaused(**_sub(customer), paused_at="2026-11-21T10:00:00+00:00"),
        SubscriptionResumed(
            **_sub(customer), resumed_at="2026-11-28T10:00:00+00:00", current_period_end="2026-12-28T00:00:00+00:00"
        ),
    )

    assert [m.subject for m in mail.outbox] == [
        "Your FlowMart Plus subscription is paused",
        "Your FlowMart Plus subscription is back",
    ]
    assert "The current period now ends on Dec. 28, 2026, 00:00 UTC." in mail.outbox[1].body
