"""The stray-authorization sweep and ``payment_abandon`` on the sandbox's own books."""

from __future__ import annotations

import pytest

from payments import services
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, SandboxCharge, StrayAuthorization
from tests.payments.factories import authorized_payment

pytestmark = pytest.mark.django_db


def _hold(key: str, amount_minor: int = 700, **metadata: str) -> str:
    return (
        SandboxGateway()
        .authorize(
            amount_minor=amount_minor,
            currency="USD",
            payment_method="pm_card_visa",
            idempotency_key=key,
            metadata=metadata,
        )
        .id
    )


def test_the_sweep_voids_only_holds_nothing_explains():
    ours = authorized_payment(amount_minor=1500)
    stray = _hold("someone-elses-key", reference="order:FM-GONE")

    assert services.payments_stray_authorizations_void(older_than_minutes=0) == 1

    statuses = dict(SandboxCharge.objects.values_list("id", "status"))
    assert statuses == {Payment.objects.get(pk=ours.id).gateway_ref: "authorized", stray: "voided"}
    row = StrayAuthorization.objects.get()
    assert (row.gateway_ref, row.amount_minor, row.reference, row.payment, row.status) == (
        stray,
        700,
        "order:FM-GONE",
        None,
        "voided",
    )


def test_a_hold_flowmart_did_not_make_is_left_alone():
    foreign = _hold("another-system")
    SandboxCharge.objects.filter(pk=foreign).update(metadata={})  # what another system's hold looks like

    assert services.payments_stray_authorizations_void(older_than_minutes=0) == 0
    assert (SandboxCharge.objects.get(pk=foreign).status, StrayAuthorization.objects.count()) == ("authorized", 0)


def test_young_holds_are_left_for_their_answer_to_arrive():
    _hold("in-flight")
    assert services.payments_stray_authorizations_void() == 0  # PAYMENTS_STRAY_AUTHORIZATION_MINUTES (5)
    assert SandboxCharge.objects.get().status == "authorized"


def test_abandoning_a_pending_payment_whose_hold_exists_voids_it_and_nothing_authorizes_it_again():
    payment = Payment.objects.create(
        reference="order:FM-ABANDON",
        correlation_id="FM-ABANDON",
        amount_minor=900,
        currency="USD",
        gateway="sandbox",
        payment_method="pm_card_visa",
        idempotency_key="FM-ABANDON:authorize:0",
    )
    held = _hold(f"authorize-{payment.id}", amount_minor=900, payment_id=str(payment.id))  # answer never recorded

    info = services.payment_abandon(payment_id=payment.id, reason="order cancelled")
    services.payments_resume_stuck(older_than_minutes=0)

    assert (info.status, SandboxCharge.objects.get(pk=held).status) == ("voided", "voided")
    payment = Payment.objects.get()
    assert list(payment.transitions.order_by("pk").values_list("to_state", flat=True)) == ["authorized", "voided"]
    assert list(payment.notes.values_list("kind", "state", "text")) == [("abandoned", "pending", "order cancelled")]


def test_abandoning_a_pending_payment_the_gateway_never_saw_fails_it():
    payment = Payment.objects.create(
        reference="order:FM-NEVER",
        correlation_id="FM-NEVER",
        amount_minor=900,
        currency="USD",
        gateway="sandbox",
        payment_method="pm_card_visa",
        idempotency_key="FM-NEVER:authorize:0",
    )
    info = services.payment_abandon(payment_id=payment.id, reason="order cancelled")
    services.payments_resume_stuck(older_than_minutes=0)

    assert (info.status, info.decline_code) == ("failed", "abandoned")
    assert not SandboxCharge.objects.exists()  # the resume sweep did not authorize it
