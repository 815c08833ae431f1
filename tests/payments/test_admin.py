"""Staff screens: payment detail with history and allowed-action buttons, approval queue, disputes, reconciliation."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from payments import selectors, services
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, Refund
from tests.payments.factories import authorized_payment, captured_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def support_client(staff_member) -> Client:
    client = Client()
    client.force_login(staff_member("Support"))
    return client


@pytest.fixture
def finance_client(finance_user) -> Client:
    client = Client()
    client.force_login(finance_user)
    return client


def change_url(payment) -> str:
    return reverse("admin:payments_payment_change", args=[payment.id])


def act_url(payment, action) -> str:
    return reverse("admin:payments_payment_staff_action", args=[payment.id, action])


def test_an_authorized_payment_offers_capture_and_void(admin_client):
    payment = authorized_payment(reference="order:FM-ADM")
    page = admin_client.get(change_url(payment)).content.decode()

    assert 'value="capture"' in page
    assert 'value="void"' in page
    assert 'value="refund"' not in page
    assert "Authorized by the gateway" in page  # the history inline


def test_a_captured_payment_offers_only_refund(admin_client):
    payment = captured_payment()
    page = admin_client.get(change_url(payment)).content.decode()
    assert 'value="refund"' in page
    assert 'value="capture"' not in page
    assert 'value="void"' not in page


def test_staff_capture_from_the_admin_is_recorded_with_their_name(admin_client, staff_user):
    payment = authorized_payment(amount_minor=9000)
    response = admin_client.post(act_url(payment, "capture"), {"amount_minor": "6000"})

    assert response.status_code == 302
    info = selectors.payment_get(payment_id=payment.id)
    assert (info.status, info.captured_minor) == ("captured", 6000)
    last = selectors.payment_history(payment_id=payment.id)[-1]
    assert (last.to_state, last.by) == ("captured", staff_user)


def test_void_from_the_admin(admin_client):
    payment = authorized_payment()
    admin_client.post(act_url(payment, "void"), {"reason": "fraud suspicion"})
    assert selectors.payment_get(payment_id=payment.id).status == "voided"


def test_refund_from_the_admin_and_the_threshold(admin_client):
    payment = captured_payment(amount_minor=90000)
    admin_client.post(act_url(payment, "refund"), {"amount_minor": "1000", "reason": "late", "idempotency_key": "a1"})
    response = admin_client.post(
        act_url(payment, "refund"), {"amount_minor": "60000", "reason": "broken", "idempotency_key": "a2"}, follow=True
    )

    assert "it waits for Finance" in response.content.decode()
    assert sorted(Refund.objects.values_list("amount_minor", "status")) == [
        (1000, "succeeded"),
        (60000, "pending_approval"),
    ]


def test_a_refused_action_shows_the_reason(admin_client):
    payment = captured_payment(amount_minor=1000)
    response = admin_client.post(
        act_url(payment, "refund"), {"amount_minor": "5000", "reason": "x", "idempotency_key": "a3"}, follow=True
    )
    assert "can still be refunded" in response.content.decode()
    assert Refund.objects.count() == 0


def test_finance_approves_from_the_queue(finance_client):
    payment = captured_payment(amount_minor=90000)
    waiting = services.payment_refund(payment_id=payment.id, amount_minor=60000, reason="big", idempotency_key="q1")
    queue = reverse("admin:payments_pendingrefund_changelist")

    assert "big" in finance_client.get(queue).content.decode()
    finance_client.post(queue, {"action": "staff_approve", "_selected_action": [str(waiting.id)]})

    assert Refund.objects.get(pk=waiting.id).status == "succeeded"
    assert selectors.payment_get(payment_id=payment.id).refunded_minor == 60000


def test_staff_outside_finance_cannot_approve(support_client):
    payment = captured_payment(amount_minor=90000)
    waiting = services.payment_refund(payment_id=payment.id, amount_minor=60000, reason="big", idempotency_key="q2")
    queue = reverse("admin:payments_refund_changelist")

    page = support_client.get(queue).content.decode()
    assert "staff_approve" not in page  # no bulk action for this role
    response = support_client.post(queue, {"action": "staff_approve", "_selected_action": [str(waiting.id)]})
    url = reverse("admin:payments_refund_staff_action", args=[waiting.id, "approve"])
    assert support_client.post(url, {}).status_code == 403

    assert response.status_code == 200  # Django's "no action selected": the action does not exist for them
    assert Refund.objects.get(pk=waiting.id).status == "pending_approval"


def test_reconciliation_page_runs_and_lists_mismatches(admin_client):
    captured_payment()
    stray = SandboxGateway().authorize(
        amount_minor=700, currency="USD", payment_method="pm_card_visa", idempotency_key="stray", description=""
    )
    changelist = reverse("admin:payments_reconciliationreport_changelist")
    assert "Reconcile yesterday now" in admin_client.get(changelist).content.decode()

    response = admin_client.post(reverse("admin:payments_reconciliation_run"), {"day": "today"}, follow=True)

    page = response.content.decode()
    assert stray.id in page
    assert "At the gateway, not in FlowMart" in page


@pytest.mark.parametrize(
    "name",
    ["payment", "refund", "pendingrefund", "dispute", "webhookevent", "savedpaymentmethod", "reconciliationreport"],
)
def test_every_payments_screen_loads(admin_client, name):
    captured_payment()
    assert admin_client.get(reverse(f"admin:payments_{name}_changelist")).status_code == 200


def test_customers_cannot_reach_the_actions(customer):
    client = Client()
    client.force_login(customer)
    payment = authorized_payment()
    response = client.post(act_url(payment, "capture"), {})
    assert response.status_code == 302  # to the admin login
    assert Payment.objects.get(pk=payment.id).status == "authorized"


def test_the_payment_list_shows_money_and_card(admin_client):
    captured_payment(amount_minor=12999, reference="order:FM-LIST")
    page = admin_client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert "order:FM-LIST" in page
    assert "$129.99" in page
    assert "visa •••• 4242" in page


def test_finance_submits_dispute_evidence_from_the_dispute_page(finance_client, finance_user, settings):
    from payments import webhooks
    from payments.models import Dispute, SandboxDispute

    info = captured_payment(amount_minor=6000)
    charge_id = Payment.objects.get(pk=info.id).gateway_ref
    webhooks.sandbox_dispute_send(charge_id=charge_id, event_type="charge.dispute.created", status="x")
    dispute = Dispute.objects.get()
    page = finance_client.get(reverse("admin:payments_dispute_change", args=[dispute.pk]))
    assert page.status_code == 200
    assert "Submit evidence to the bank" in page.content.decode()

    empty = finance_client.post(reverse("admin:payments_dispute_evidence", args=[dispute.pk]), {"text": ""})
    assert empty.status_code == 302
    assert Dispute.objects.get().evidence_status == ""

    response = finance_client.post(
        reverse("admin:payments_dispute_evidence", args=[dispute.pk]),
        {"text": "Delivered and signed for.", "file_description": "proof of delivery"},
    )

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.evidence_status, dispute.evidence_submitted_by) == ("submitted", finance_user)
    assert SandboxDispute.objects.get().status == "under_review"
    after = finance_client.get(reverse("admin:payments_dispute_change", args=[dispute.pk])).content.decode()
    assert "Submit evidence to the bank" not in after
    assert "Submitted" in after
