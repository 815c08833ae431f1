"""No database transaction is held open across a call to the outside world."""

from __future__ import annotations

import pytest
from django.db import transaction

from flowmart.network_calls import NetworkCallInTransaction, assert_no_transaction, in_transaction
from payments import services as payment_services
from shipping.carriers import Parcel, get_carrier


def test_the_test_runners_own_transaction_does_not_count(db):
    assert not in_transaction()
    assert_no_transaction("anything")


def test_a_gateway_call_inside_a_transaction_is_refused_before_it_leaves(db):
    with pytest.raises(NetworkCallInTransaction, match="payment gateway"), transaction.atomic():
        payment_services.payment_authorize(
            payment_services.PaymentRequest(
                reference="order:FM-GUARD001",
                amount_minor=1000,
                currency="USD",
                payment_method="pm_card_visa",
                idempotency_key="guard-1",
            )
        )


def test_a_carrier_call_inside_a_transaction_is_refused(db):
    parcel = Parcel(reference="SHP-GUARD", address={"country": "US"}, weight_grams=100)
    with pytest.raises(NetworkCallInTransaction, match="carrier"), transaction.atomic():
        get_carrier().create_label(parcel=parcel)
