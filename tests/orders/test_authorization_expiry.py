"""An order's authorization must not lapse before its parcel leaves: the hourly sweep renews authorizations of
undispatched orders a day before PAYMENTS_AUTHORIZATION_VALID_DAYS, and an order whose card refuses is held for
staff (no label bought) instead of failing at capture after dispatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from orders import selectors, services
from payments.models import Payment
from payments.selectors import payments_for_reference
from shipping import services as shipping_services
from shipping.models import Shipment
from tests.orders.shipping_steps import order_ship

pytestmark = pytest.mark.django_db


def _payments(order):
    return sorted(
        (p.status, p.amount_minor, p.captured_minor) for p in payments_for_reference(reference=order.payment_reference)
    )


def test_an_authorization_near_expiry_is_renewed_and_the_late_dispatch_is_captured(place, settings):
    settings.PAYMENTS_AUTHORIZATION_VALID_DAYS = 7
    settings.ORDERS_AUTHORIZATION_RENEW_HOURS_BEFORE = 24
    order = place(("TEE-M", 3))  # 6000, free shipping
    placed = timezone.now()

    with time_machine.travel(placed + timedelta(days=5, hours=23)):
        assert services.orders_authorizations_renew() == 0  # not due yet
    with time_machine.travel(placed + timedelta(days=6, hours=1)):
        assert services.orders_authorizations_renew() == 1
        assert services.orders_authorizations_renew() == 0  # renewed: not due again
    assert _payments(order) == [("authorized", 6000, 0), ("voided", 6000, 0)]
    assert sorted(order.payments.values_list("purpose", "voided")) == [
        ("checkout", True),
        ("reauthorization", False),
    ]

    with time_machine.travel(placed + timedelta(days=7, minutes=30)):  # the first authorization has lapsed
        order_ship(order)

    order.refresh_from_db()
    assert (order.status, order.captured_minor, order.failure_code) == ("shipped", 6000, "")
    assert _payments(order) == [("captured", 6000, 6000), ("voided", 6000, 0)]


def test_without_renewal_the_lapsed_authorization_cannot_be_captured(place, settings):
    """What the sweep prevents: the sandbox gateway models the expiry, so capture after dispatch fails."""
    settings.PAYMENTS_AUTHORIZATION_VALID_DAYS = 7
    order = place(("TEE-M", 3))

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=30)):
        order_ship(order)

    order.refresh_from_db()
    assert (order.status, order.captured_minor, order.failure_code) == ("shipped", 0, "settle_failed")


def test_a_card_that_refuses_the_renewal_holds_the_order_before_any_label(place, settings):
    settings.PAYMENTS_AUTHORIZATION_VALID_DAYS = 7
    order = place(("TEE-M", 1))
    # The customer's card was blocked since checkout: the issuer now declines it.
    Payment.objects.filter(reference=order.payment_reference).update(payment_method="pm_card_chargeDeclined")

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=1)):
        assert services.orders_authorizations_renew() == 1
        assert services.orders_authorizations_renew() == 0  # flagged: staff decide, no retry every hour
        shipping_services.shipments_poll()

    order.refresh_from_db()
    assert (order.status, order.failure_code) == ("on_hold", "reauthorization_failed")
    assert order.failure_detail.startswith(
        "the payment authorization expires before dispatch and could not be renewed: payment_declined"
    )
    assert order in selectors.orders_needing_attention()
    shipment = Shipment.objects.get(order_number=order.number)
    assert (shipment.status, shipment.held, shipment.tracking_number) == ("pending", True, None)
    assert _payments(order) == [("authorized", 2499, 0), ("failed", 2499, 0)]
