"""Finance on the staff API: refund an order, the approval queue, and four eyes (the person who asked for a refund
above the threshold cannot approve it: a second person in Finance does). Threshold 500.00 (conftest)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from flowmart.staff.selectors import audit_log
from payments import services
from payments.gateways.sandbox import SandboxCharge
from payments.models import Refund
from tests.payments.factories import captured_payment

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def refund_order(client, number, amount_minor, key, reason="damaged in transit"):
    return client.post(
        f"/api/v1/staff/orders/{number}/refund/",
        {"amount_minor": amount_minor, "reason": reason},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_finance_refunds_an_order_and_a_big_refund_needs_a_second_person(staff_member):
    captured_payment(amount_minor=90000, reference="order:FM-STAFFAPI")
    alice, bob = staff_member("Finance", "alice@staff.example"), staff_member("Finance", "bob@staff.example")

    small = refund_order(api(alice), "FM-STAFFAPI", 1000, "k1")
    assert small.status_code == 200
    assert small.json()["refunded_minor"] == 1000

    big = refund_order(api(alice), "FM-STAFFAPI", 60000, "k2")
    assert big.status_code == 200
    waiting = Refund.objects.get(amount_minor=60000)
    assert (waiting.status, waiting.requested_by) == ("pending_approval", alice)

    queue = api(bob).get("/api/v1/staff/refunds/?status=pending_approval").json()["results"]
    assert [(r["id"], r["requested_by"]) for r in queue] == [(str(waiting.id), "alice@staff.example")]

    own = api(alice).post(f"/api/v1/staff/refunds/{waiting.id}/approve/", {}, format="json")
    assert own.status_code == 403
    assert own.json()["code"] == "refund_self_approval"
    assert Refund.objects.get(pk=waiting.id).status == "pending_approval"

    approved = api(bob).post(f"/api/v1/staff/refunds/{waiting.id}/approve/", {"reason": "checked"}, format="json")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("succeeded", "bob@staff.example")
    assert SandboxCharge.objects.get().refunded_minor == 61000

    assert list(
        audit_log(kind="action")
        .order_by("at")
        .values_list("actor_email", "action", "result__outcome", "result__error_code")
    ) == [
        ("alice@staff.example", "payments.payment.refund", "done", ""),
        ("alice@staff.example", "payments.payment.refund", "done", ""),
        ("alice@staff.example", "payments.refund.approve", "refused", "refund_self_approval"),
        ("bob@staff.example", "payments.refund.approve", "done", ""),
    ]
    decided = audit_log(kind="action").order_by("at").last()
    assert (decided.before["status"], decided.after["status"], decided.reason) == (
        "pending_approval",
        "succeeded",
        "checked",
    )


def test_the_same_idempotency_key_refunds_once_and_a_missing_one_is_a_400(staff_member):
    captured_payment(amount_minor=9000, reference="order:FM-ONCEONLY")
    client = api(staff_member("Finance"))
    assert refund_order(client, "FM-ONCEONLY", 1000, "same").status_code == 200
    assert refund_order(client, "FM-ONCEONLY", 1000, "same").json()["refunded_minor"] == 1000

    missing = client.post(
        "/api/v1/staff/orders/FM-ONCEONLY/refund/", {"amount_minor": 1000, "reason": "x"}, format="json"
    )
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["idempotency_key"]
    assert Refund.objects.count() == 1


def test_finance_rejects_and_other_roles_are_refused(staff_member, customer):
    captured_payment(amount_minor=90000, reference="order:FM-REJECTME")
    waiting = services.payment_refund(
        payment_id=captured_payment(amount_minor=90000).id, amount_minor=60000, reason="big", idempotency_key="r1"
    )

    for role in ("Support", "Warehouse"):
        client = api(staff_member(role))
        assert client.post(f"/api/v1/staff/refunds/{waiting.id}/reject/", {}, format="json").status_code == 403
        assert refund_order(client, "FM-REJECTME", 100, f"{role}-1").status_code == 403
    customer_api = api(customer)
    assert customer_api.get("/api/v1/staff/refunds/").status_code == 403
    assert customer_api.post(f"/api/v1/staff/refunds/{waiting.id}/approve/", {}, format="json").status_code == 403

    rejected = api(staff_member("Finance")).post(
        f"/api/v1/staff/refunds/{waiting.id}/reject/", {"reason": "already refunded by the bank"}, format="json"
    )
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert Refund.objects.get(pk=waiting.id).decision_note == "already refunded by the bank"
    unknown = api(staff_member("Manager")).post(
        "/api/v1/staff/refunds/00000000-0000-0000-0000-000000000000/approve/", {}, format="json"
    )
    assert unknown.status_code == 404


def test_four_eyes_in_the_admin_too(staff_member):
    payment = captured_payment(amount_minor=90000)
    alice = staff_member("Finance", "alice@staff.example")
    client = Client()
    client.force_login(alice)
    client.post(
        f"/admin/payments/payment/{payment.id}/staff-action/refund/",
        {"amount_minor": "60000", "reason": "broken", "idempotency_key": "adm-1"},
    )
    waiting = Refund.objects.get()
    assert waiting.status == "pending_approval"

    response = client.post(
        "/admin/payments/pendingrefund/",
        {"action": "staff_approve", "_selected_action": [str(waiting.id)]},
        follow=True,
    )
    assert "someone else in Finance decides on it" in response.content.decode()
    assert Refund.objects.get().status == "pending_approval"
