"""Authorizations lapse: the sandbox refuses to capture one older than PAYMENTS_AUTHORIZATION_VALID_DAYS, like a
real processor; ``payment_reauthorize`` renews one by key (a new authorization, the old voided) before then."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from payments import selectors, services
from payments.models import Payment, SandboxCharge
from tests.payments.factories import authorized_payment

pytestmark = pytest.mark.django_db


def test_an_authorization_older_than_the_valid_days_cannot_be_captured(settings):
    settings.PAYMENTS_AUTHORIZATION_VALID_DAYS = 7
    payment = authorized_payment(amount_minor=4999)

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        with pytest.raises(services.GatewayRefused) as refused:
            services.payment_capture(payment_id=payment.id)

    assert refused.value.extra["gateway_code"] == "charge_expired_for_capture"
    assert selectors.payment_get(payment_id=payment.id).status == "authorized"
    assert SandboxCharge.objects.get().captured_minor == 0


def test_reauthorize_makes_a_new_authorization_by_key_and_voids_the_old_one():
    old = authorized_payment(amount_minor=4999, reference="order:FM-RENEW001", customer_email="casey@example.com")

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=1)):
        new = services.payment_reauthorize(payment_id=old.id, idempotency_key="FM-RENEW001:reauthorize:1")
        again = services.payment_reauthorize(payment_id=old.id, idempotency_key="FM-RENEW001:reauthorize:1")
    with time_machine.travel(timezone.now() + timedelta(days=8)):  # the old one would have lapsed by now
        captured = services.payment_capture(payment_id=new.id)

    assert again.id == new.id != old.id
    assert (new.reference, new.amount_minor, new.status) == ("order:FM-RENEW001", 4999, "authorized")
    assert selectors.payment_get(payment_id=old.id).status == "voided"
    assert (captured.status, captured.captured_minor) == ("captured", 4999)
    assert Payment.objects.get(pk=new.id).customer_email == "casey@example.com"
    assert sorted(SandboxCharge.objects.values_list("status", flat=True)) == ["captured", "voided"]


def test_a_refused_reauthorization_leaves_the_old_authorization_as_it_was():
    old = authorized_payment(amount_minor=4999)
    # The customer's card was blocked since checkout: the issuer now declines it.
    Payment.objects.filter(pk=old.id).update(payment_method="pm_card_chargeDeclined")

    with pytest.raises(services.PaymentDeclined):
        services.payment_reauthorize(payment_id=old.id, idempotency_key="renew-declined")

    assert selectors.payment_get(payment_id=old.id).status == "authorized"
